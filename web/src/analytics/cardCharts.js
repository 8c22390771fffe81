// cardCharts.js — which chart types a card of each question kind can draw.
export function chartsFor(kind) {
  switch (kind) {
    case 'funnel': return ['funnel', 'number', 'table'];
    case 'retention': return ['heatmap', 'number', 'table'];
    default: return ['line', 'bar', 'number', 'table'];
  }
}
