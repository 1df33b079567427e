// public/echarts-map.min.js (see .ci/echarts-bundle.js for how it is built):
// everything in echarts.min.js, plus the world map's parts — the geo
// component, scatter (the dots) and lines (a session's path). The sessions
// pages load it in place of echarts.min.js; `window.echartsMap` says it is in.
import * as echarts from 'echarts/core';
import './echarts-bundle.js';
import { LinesChart, ScatterChart } from 'echarts/charts';
import { GeoComponent } from 'echarts/components';

echarts.use([LinesChart, ScatterChart, GeoComponent]);
window.echartsMap = true;
