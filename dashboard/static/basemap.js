/* KOBAN Geo: the offline vector basemap under the map's own layers.
 *
 * Tiles come from the app itself (/basemap/tiles/{z}/{x}/{y}.mvt, dashboard/web/tiles.py), drawn by
 * protomaps-leaflet 5 (vendored, window.protomapsL) in a quiet grey style of our own, so the map's coloured
 * layers (areas, hot spots, clusters) stand out. Two canvas layers: the geography in Leaflet's tile pane
 * under everything, and the names in a pane above the data layers (pointer events off), so a street name
 * stays readable under a shaded area. Layer and property names are those of the Protomaps basemap v4
 * (earth, landuse, water, roads, buildings, places, pois; kind, kind_detail, name), which
 * koban_geo.basemap writes. Called by the element dashboard/ui/basemap.py puts into each map.
 */
(function () {
  "use strict";

  var GREY = {
    background: "#e6e6e3", // outside the extract
    earth: "#f3f3f1",
    green: "#e1e6dc", // parks, grass, woods: a hint of green, no more
    square: "#ebeae6", // pedestrian squares, piers
    campus: "#eeedea", // schools, hospitals, railway land
    water: "#cbd4dc",
    building: "#dad9d5",
    casing: "#d3d3cf",
    road: "#ffffff",
    path: "#cfcfca",
    rail: "#a9a9a5",
    tram: "#c4c4c0",
    label: "#5c5c5c",
    place: "#6b6b6b",
    poi: "#7d7d7d",
    waterLabel: "#71808e",
    halo: "#ffffff",
  };
  var GREEN = ["park", "garden", "grass", "village_green", "recreation_ground", "playground", "pitch",
    "cemetery", "forest", "wood", "scrub", "grassland", "heath", "meadow", "allotments", "golf_course",
    "wetland", "dog_park"];
  var SQUARE = ["pedestrian", "pier"];
  var CAMPUS = ["school", "university", "college", "kindergarten", "hospital", "railway"];

  function kindIn(list) {
    return function (z, f) { return list.indexOf(f.props.kind) >= 0; };
  }
  function onSurface(kinds) {
    return function (z, f) { return kinds.indexOf(f.props.kind) >= 0 && !f.props.is_tunnel; };
  }
  // width in px at zoom z, interpolated between [zoom, width] stops
  function widths(stops) {
    return function (z) {
      if (z <= stops[0][0]) return stops[0][1];
      for (var i = 1; i < stops.length; i++) {
        if (z <= stops[i][0]) {
          var a = stops[i - 1], b = stops[i], t = (z - a[0]) / (b[0] - a[0]);
          return a[1] + t * (b[1] - a[1]);
        }
      }
      return stops[stops.length - 1][1];
    };
  }
  var MINOR = widths([[13, 0.6], [15, 2.5], [17, 7], [19, 16]]);
  var MAJOR = widths([[12, 1.2], [15, 4], [17, 10], [19, 22]]);

  function paintRules(P) {
    return [
      {dataLayer: "earth", symbolizer: new P.PolygonSymbolizer({fill: GREY.earth})},
      {dataLayer: "landuse", symbolizer: new P.PolygonSymbolizer({fill: GREY.green}), filter: kindIn(GREEN)},
      {dataLayer: "landuse", symbolizer: new P.PolygonSymbolizer({fill: GREY.campus}), filter: kindIn(CAMPUS)},
      {dataLayer: "landuse", symbolizer: new P.PolygonSymbolizer({fill: GREY.square}), filter: kindIn(SQUARE)},
      {dataLayer: "water", symbolizer: new P.PolygonSymbolizer({fill: GREY.water}),
        filter: function (z, f) { return f.geomType === P.GeomType.Polygon; }},
      {dataLayer: "water", symbolizer: new P.LineSymbolizer({color: GREY.water, width: widths([[13, 1], [18, 6]])}),
        filter: function (z, f) { return f.geomType === P.GeomType.Line; }},
      {dataLayer: "roads", minzoom: 15, symbolizer: new P.LineSymbolizer({color: GREY.path, width: widths([[15, 0.6], [18, 1.6]])}),
        filter: onSurface(["path"])},
      // casings first, then every road's fill over them, so crossings join cleanly
      {dataLayer: "roads", symbolizer: new P.LineSymbolizer({color: GREY.casing, width: function (z) { return MINOR(z) + 1.2; }}),
        filter: onSurface(["minor_road"])},
      {dataLayer: "roads", symbolizer: new P.LineSymbolizer({color: GREY.casing, width: function (z) { return MAJOR(z) + 1.4; }}),
        filter: onSurface(["major_road", "highway"])},
      {dataLayer: "roads", symbolizer: new P.LineSymbolizer({color: GREY.road, width: MINOR}), filter: onSurface(["minor_road"])},
      {dataLayer: "roads", symbolizer: new P.LineSymbolizer({color: GREY.road, width: MAJOR}), filter: onSurface(["major_road", "highway"])},
      {dataLayer: "roads", symbolizer: new P.LineSymbolizer({color: GREY.tram, width: widths([[13, 0.5], [18, 1.2]])}),
        filter: function (z, f) { return f.props.kind === "rail" && f.props.kind_detail === "tram" && !f.props.is_tunnel; }},
      {dataLayer: "roads", symbolizer: new P.LineSymbolizer({color: GREY.rail, width: widths([[12, 0.8], [18, 2]]), dash: [3, 2],
        dashColor: GREY.earth, dashWidth: widths([[12, 0.4], [18, 1]])}),
        filter: function (z, f) { return f.props.kind === "rail" && f.props.kind_detail !== "tram" && !f.props.is_tunnel; }},
      {dataLayer: "buildings", minzoom: 14, symbolizer: new P.PolygonSymbolizer({fill: GREY.building, stroke: GREY.casing, width: 0.5})},
    ];
  }

  function labelRules(P) {
    var onLine = P.LineLabelPlacement ? P.LineLabelPlacement.Center : undefined;
    function streetLabels(kinds, minzoom, size) {
      return {dataLayer: "roads", minzoom: minzoom, filter: onSurface(kinds),
        symbolizer: new P.LineLabelSymbolizer({labelProps: ["name"], fill: GREY.label, stroke: GREY.halo, width: 3,
          font: "400 " + size + "px sans-serif", position: onLine, repeatDistance: 300})};
    }
    return [
      {dataLayer: "places", minzoom: 12, maxzoom: 16, filter: kindIn(["neighbourhood"]),
        symbolizer: new P.CenteredTextSymbolizer({labelProps: ["name"], fill: GREY.place, stroke: GREY.halo, width: 3,
          font: "600 12px sans-serif", textTransform: "uppercase", letterSpacing: 1})},
      {dataLayer: "places", maxzoom: 14, filter: kindIn(["locality"]),
        symbolizer: new P.CenteredTextSymbolizer({labelProps: ["name"], fill: GREY.place, stroke: GREY.halo, width: 3,
          font: "700 15px sans-serif"})},
      streetLabels(["highway", "major_road"], 13, 12),
      streetLabels(["minor_road"], 15, 11),
      streetLabels(["path"], 17, 10),
      {dataLayer: "pois", minzoom: 14, filter: kindIn(["station"]),
        symbolizer: new P.CenteredTextSymbolizer({labelProps: ["name"], fill: GREY.label, stroke: GREY.halo, width: 3,
          font: "600 11px sans-serif"})},
      {dataLayer: "pois", minzoom: 15, filter: kindIn(["square", "park"]),
        symbolizer: new P.CenteredTextSymbolizer({labelProps: ["name"], fill: GREY.poi, stroke: GREY.halo, width: 3,
          font: "italic 400 11px sans-serif"})},
      {dataLayer: "water", minzoom: 14, filter: function (z, f) { return f.geomType === P.GeomType.Point; },
        symbolizer: new P.CenteredTextSymbolizer({labelProps: ["name"], fill: GREY.waterLabel, stroke: GREY.halo, width: 2,
          font: "italic 400 11px sans-serif"})},
    ];
  }

  /* Add the basemap to a Leaflet map. options: url (z/x/y template), minZoom and maxDataZoom (the archive's
   * zoom levels), attribution. Returns {base, labels}, or null when the renderer is missing. */
  window.kobanBasemap = function (map, options) {
    var P = window.protomapsL;
    if (!P || !P.leafletLayer) {
      console.warn("koban basemap: protomaps-leaflet is not loaded; the map is drawn without its basemap");
      return null;
    }
    var common = {url: options.url, levelDiff: 0, maxDataZoom: options.maxDataZoom, minZoom: options.minZoom};
    var base = P.leafletLayer(Object.assign({}, common, {paintRules: paintRules(P), labelRules: [],
      backgroundColor: GREY.background, attribution: options.attribution}));
    if (!map.getPane("kobanLabels")) {
      var pane = map.createPane("kobanLabels");
      pane.style.zIndex = 450; // above the data layers (overlayPane 400), below markers, tooltips and popups
      pane.style.pointerEvents = "none";
    }
    var labels = P.leafletLayer(Object.assign({}, common, {paintRules: [], labelRules: labelRules(P),
      pane: "kobanLabels", attribution: ""}));
    base.addTo(map);
    labels.addTo(map);
    map.kobanBasemap = {base: base, labels: labels};
    return map.kobanBasemap;
  };
})();
