// main.js — boots the console: Element Plus, vue-i18n, the router.
import { createApp } from 'vue';
import ElementPlus from 'element-plus';
import 'element-plus/dist/index.css';
import * as Icons from '@element-plus/icons-vue';
import App from './App.vue';
import { router } from './router.js';
import { i18n } from './i18n.js';
import './style.css';

const app = createApp(App);
for (const [name, comp] of Object.entries(Icons)) app.component(`Icon${name}`, comp);
app.use(ElementPlus);
app.use(i18n);
app.use(router);
app.mount('#app');
