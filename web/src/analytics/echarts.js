// echarts.js — the chart types the analytics pages add to the shared ECharts
// core (EChart.vue registers bar, pie and line): the retention heat map and
// its colour scale. Registration is global, so importing this module before
// an <e-chart> with a heatmap option is enough.
import * as echarts from 'echarts/core';
import { HeatmapChart } from 'echarts/charts';
import { VisualMapComponent, MarkLineComponent } from 'echarts/components';

echarts.use([HeatmapChart, VisualMapComponent, MarkLineComponent]);

// The ECharts instance drawn by an <e-chart> component (its root element
// keeps it as __chart), for click handlers.
export function chartOf(comp) {
  return comp && comp.$el ? comp.$el.__chart || null : null;
}
