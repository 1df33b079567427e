// How public/echarts.min.js was made (once; nothing runs this at build time):
// the parts of ECharts 5.5.1 (Apache-2.0) that Vigil's charts use — bars, lines,
// scatter and lines on a map, grid, tooltip, legend, brush, geo, SVG renderer —
// bundled as the global `echarts` (the full build is 1.0 MB, this one 0.65 MB):
//   npm install --prefix /tmp/echarts echarts@5.5.1 esbuild@0.28.2
//   NODE_PATH=/tmp/echarts/node_modules /tmp/echarts/node_modules/.bin/esbuild .ci/echarts-bundle.js \
//     --bundle --minify --format=iife --legal-comments=inline --outfile=public/echarts.min.js
// A chart type or component that is not listed here draws nothing (ECharts
// warns in the console): add it here and rebuild.
import * as echarts from 'echarts/core';
import { BarChart, LineChart, LinesChart, ScatterChart } from 'echarts/charts';
import { BrushComponent, GeoComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';

echarts.use([
  BarChart, LineChart, LinesChart, ScatterChart,
  BrushComponent, GeoComponent, GridComponent, LegendComponent, TooltipComponent,
  SVGRenderer,
]);
window.echarts = echarts;
