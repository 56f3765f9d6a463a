// The operations map's view and its first report tiles, asked for while the rest of the
// page is still arriving.
//
// A classic script at the end of the page: the browser runs it as soon as the stylesheets
// are in, when the map's size is known, well before Leaflet and the page's modules. It
// chooses the view the map opens on (every shelter, with a margin; main.js sets it) and
// preloads the report tiles of that view: when the tile layer (reports.js) asks for them,
// the browser hands it these answers, already on their way. The markers' first request is
// preloaded from the page's head (maps/views.py).
//
// The tiles are found as Leaflet's GridLayer finds them, so the guess is what the layer
// asks for. Were it wrong (filters restored by the browser, a banner shown meanwhile that
// makes the map shorter), a tile would be asked for twice, never drawn wrong.
(() => {
  // As reports.js asks for them: tiles of 512 px, each the 256 px tile of the zoom above.
  const TILE_SIZE = 512;
  const AROUND_SHELTERS = 0.1;
  // Leaflet's EPSG:3857 (Spherical Mercator), in pixels at a zoom.
  const R = 6378137;
  const MAX_LATITUDE = 85.0511287798;
  const A = 0.5 / (Math.PI * R);

  const panel = document.getElementById("ops-map-panel");
  const container = document.getElementById("opsmap");
  const shelters = JSON.parse(panel?.dataset.cityView || "null");
  if (!container || !shelters) return;
  // The map's zoom range, as the page gives it to main.js too (maps/views.py).
  const MIN_ZOOM = Number(panel.dataset.minZoom);
  const MAX_ZOOM = Number(panel.dataset.openingMaxZoom);

  function project([lat, lng], zoom) {
    const d = Math.PI / 180;
    const sin = Math.sin(Math.max(Math.min(MAX_LATITUDE, lat), -MAX_LATITUDE) * d);
    const scale = 256 * 2 ** zoom;
    const y = (R * Math.log((1 + sin) / (1 - sin))) / 2;
    return [scale * (A * R * lng * d + 0.5), scale * (-A * y + 0.5)];
  }

  function unproject([x, y], zoom) {
    const scale = 256 * 2 ** zoom;
    const d = 180 / Math.PI;
    const [mx, my] = [(x / scale - 0.5) / A, (y / scale - 0.5) / -A];
    return [(2 * Math.atan(Math.exp(my / R)) - Math.PI / 2) * d, (mx * d) / R];
  }

  // Leaflet's fitBounds(bounds.pad(0.1), {maxZoom}) at whole zoom levels, on a map that
  // zooms out no further than MIN_ZOOM.
  const [[south, west], [north, east]] = shelters;
  const [dLat, dLng] = [(north - south) * AROUND_SHELTERS, (east - west) * AROUND_SHELTERS];
  const [sw, ne] = [
    [south - dLat, west - dLng],
    [north + dLat, east + dLng],
  ];
  const size = [container.clientWidth, container.clientHeight];
  if (!size[0] || !size[1]) return;
  const [x0, y0] = project([ne[0], sw[1]], 0);
  const [x1, y1] = project([sw[0], ne[1]], 0);
  const scale = Math.min(size[0] / Math.abs(x1 - x0), size[1] / Math.abs(y1 - y0));
  const fitted = Math.floor(Math.round(Math.log2(scale) * 100) / 100);
  const zoom = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, fitted));
  const [a, b] = [project(sw, zoom), project(ne, zoom)];
  const center = unproject([(a[0] + b[0]) / 2, (a[1] + b[1]) / 2], zoom);
  window.sonaeOpsView = { center, zoom };

  // GridLayer's tiles for that view, nearest the centre first, as it queues them.
  const url = panel.dataset.tilesUrl;
  if (!url) return;
  const [cx, cy] = project(center, zoom).map(Math.floor);
  const [minX, minY] = [cx - size[0] / 2, cy - size[1] / 2].map((v) => Math.floor(v / TILE_SIZE));
  const [maxX, maxY] = [cx + size[0] / 2, cy + size[1] / 2].map((v) => Math.ceil(v / TILE_SIZE) - 1);
  const [midX, midY] = [(minX + maxX) / 2, (minY + maxY) / 2];
  const tiles = [];
  for (let y = Math.max(0, minY); y <= Math.min(2 ** zoom - 1, maxY); y++) {
    for (let x = minX; x <= maxX; x++) tiles.push([x, y, (x - midX) ** 2 + (y - midY) ** 2]);
  }
  tiles.sort((p, q) => p[2] - q[2]);
  for (const [x, y] of tiles) {
    const link = document.createElement("link");
    link.rel = "preload";
    link.as = "fetch";
    link.crossOrigin = "anonymous";
    // After the page's own scripts, already asked for: they make the map that draws these.
    link.fetchPriority = "low";
    link.href = url.replace("{z}", String(zoom - 1)).replace("{x}", String(x)).replace("{y}", String(y));
    document.head.append(link);
  }
})();
