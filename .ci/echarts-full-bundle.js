// public/echarts-full.min.js (see .ci/echarts-bundle.js for how it is built):
// everything in echarts.min.js, plus line charts and the world map's parts —
// the geo component, scatter (the dots) and lines (a session's path). The
// sessions, compare and services pages load it in place of echarts.min.js;
// `window.echartsFull` says it is in.
import * as echarts from 'echarts/core';
import './echarts-bundle.js';
import { LineChart, LinesChart, ScatterChart } from 'echarts/charts';
import { GeoComponent } from 'echarts/components';

echarts.use([LineChart, LinesChart, ScatterChart, GeoComponent]);
window.echartsFull = true;
