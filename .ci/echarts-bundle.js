// How public/echarts.min.js and public/echarts-map.min.js were made (once;
// nothing runs this at build time), from ECharts 5.5.1 (Apache-2.0):
//   npm install --prefix /tmp/echarts echarts@5.5.1 esbuild@0.28.2
//   for entry in echarts-bundle echarts-map-bundle; do
//     NODE_PATH=/tmp/echarts/node_modules /tmp/echarts/node_modules/.bin/esbuild .ci/$entry.js \
//       --bundle --minify --format=iife --legal-comments=inline --outfile=public/${entry%-bundle}.min.js
//   done
// This one, on every console page: bars and lines, grid, tooltip, legend,
// brush, the SVG renderer (0.56 MB; the full build is 1.0 MB). The map
// pages load .ci/echarts-map-bundle.js instead, which adds the map's parts.
// A chart type or component that is not listed draws nothing (ECharts warns
// in the console): add it here and rebuild both.
import * as echarts from 'echarts/core';
import { BarChart, LineChart } from 'echarts/charts';
import { BrushComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';

echarts.use([BarChart, LineChart, BrushComponent, GridComponent, LegendComponent, TooltipComponent, SVGRenderer]);
window.echarts = echarts;
