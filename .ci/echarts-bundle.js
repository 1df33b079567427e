// How public/echarts.min.js and public/echarts-full.min.js were made (once;
// nothing runs this at build time), from ECharts 5.5.1 (Apache-2.0):
//   npm install --prefix /tmp/echarts echarts@5.5.1 esbuild@0.28.2
//   for entry in echarts-bundle echarts-full-bundle; do
//     NODE_PATH=/tmp/echarts/node_modules /tmp/echarts/node_modules/.bin/esbuild .ci/$entry.js \
//       --bundle --minify --format=iife --legal-comments=inline --outfile=public/${entry%-bundle}.min.js
//   done
// This one, on most console pages: bars, grid, tooltip, legend, brush, the
// SVG renderer (0.53 MB, 152 kB brotli; the full ECharts is 1.0 MB). The
// pages with line charts or a map load .ci/echarts-full-bundle.js instead,
// which adds them (a page reached in the same document loads it on the way:
// `components::echarts::with_full_build`). A chart type or component that is
// not listed draws nothing (ECharts warns in the console): add it here and
// rebuild both.
import * as echarts from 'echarts/core';
import { BarChart } from 'echarts/charts';
import { BrushComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';

echarts.use([BarChart, BrushComponent, GridComponent, LegendComponent, TooltipComponent, SVGRenderer]);
window.echarts = echarts;
