// How public/world.json was made (once; nothing runs this at build time):
//   npm install --prefix /tmp/outline world-atlas@2.0.2 topojson-client@3 i18n-iso-countries@7
//   NODE_PATH=/tmp/outline/node_modules node .ci/world-outline.js > public/world.json
// world-atlas countries-110m (Natural Earth, public domain) as GeoJSON with ISO
// alpha-2 codes as `iso`, coordinates to 0.01°, Antarctica left out, rings that
// cross the antimeridian kept whole (east of 180°).
const topo = require('world-atlas/countries-110m.json');
const { feature } = require('topojson-client');
const countries = require('i18n-iso-countries');
const geo = feature(topo, topo.objects.countries);
const round = (p) => [Math.round(p[0] * 100) / 100, Math.round(p[1] * 100) / 100];
const ring = (r) => {
  const crosses = r.some((p) => p[0] > 170) && r.some((p) => p[0] < -170);
  return r.map((p) => round(crosses && p[0] < 0 ? [p[0] + 360, p[1]] : p));
};
const polygon = (rings) => rings.map(ring);
const out = { type: 'FeatureCollection', features: [] };
for (const f of geo.features) {
  if (f.properties.name === 'Antarctica') continue;
  const iso = f.id ? countries.numericToAlpha2(f.id) : undefined;
  const g = f.geometry;
  const coordinates = g.type === 'Polygon' ? polygon(g.coordinates) : g.coordinates.map(polygon);
  out.features.push({ type: 'Feature', properties: { name: f.properties.name, iso: iso || '' }, geometry: { type: g.type, coordinates } });
}
process.stdout.write(JSON.stringify(out));
