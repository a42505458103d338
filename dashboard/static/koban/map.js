/* KOBAN Geo's map behaviour, loaded into every folium map (dashboard/ui/map/elements.py links it; Streamlit
 * serves it at /app/static/koban/map.js; a stand-alone page gets it inlined). The Python side writes only
 * data and one-line calls to `KobanMap.*`; every function here takes its data as arguments.
 * Strings that reach innerHTML (tooltips, the legend) are HTML-escaped by the Python side. */
(function () {
    "use strict";
    var K = (window.KobanMap = window.KobanMap || {});

    var HATCH = "url(#koban-hatch)";  // the fill of hidden areas (ui/map/style.py HIDDEN_FILL)

    /* A map of many shapes (the Python side counts them: ui/map/draw.py CANVAS_FROM) is drawn on one canvas
     * (Leaflet's preferCanvas), not as an SVG path per feature; set by the map's Setup before its layers. */
    K.canvas = false;

    /* The diagonal hatching hidden (k-suppressed) areas are filled with, as an SVG pattern. */
    K.hatch = function () {
        if (document.getElementById("koban-hatch")) { return; }
        var ns = "http://www.w3.org/2000/svg";
        var svg = document.createElementNS(ns, "svg");
        svg.setAttribute("width", "0"); svg.setAttribute("height", "0");
        svg.setAttribute("style", "position:absolute");
        svg.setAttribute("aria-hidden", "true");
        svg.innerHTML = '<defs><pattern id="koban-hatch" width="8" height="8" ' +
            'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
            '<rect width="8" height="8" fill="#e6e6e6"/>' +
            '<line x1="0" y1="0" x2="0" y2="8" stroke="#8c8c8c" stroke-width="3"/></pattern></defs>';
        document.body.appendChild(svg);
    };

    /* The same hatching as a canvas pattern, for maps drawn on a canvas (an SVG pattern cannot fill there). */
    K.hatchPattern = function () {
        if (!K._pattern) {
            var tile = document.createElement("canvas");
            tile.width = tile.height = 8;
            var ctx = tile.getContext("2d");
            ctx.fillStyle = "#e6e6e6"; ctx.fillRect(0, 0, 8, 8);
            ctx.strokeStyle = "#8c8c8c"; ctx.lineWidth = 2;
            ctx.beginPath(); ctx.moveTo(-2, 10); ctx.lineTo(10, -2); ctx.moveTo(-2, 2); ctx.lineTo(2, -2);
            ctx.moveTo(6, 10); ctx.lineTo(10, 6); ctx.stroke();
            K._pattern = tile.getContext("2d").createPattern(tile, "repeat");
        }
        return K._pattern;
    };

    /* Chromium scrolls the page that holds the map's frame when Leaflet focuses the map on a mouse-down
     * (keyboard panning): the first click then lands on another polygon. Focus without scrolling. */
    K.noFocusScroll = function (map) {
        var box = map.getContainer();
        var focus = HTMLElement.prototype.focus;
        box.focus = function () { focus.call(box, {preventScroll: true}); };
    };

    /* A GeoJSON layer of styled features with one tooltip per layer: each distinct line of the tips is sent
     * once, a feature lists its lines by number (`t`), its style by number (`s`). */
    K.shapes = function (parent, options, styles, geometries, properties, lines) {
        if (K.canvas) {  // one canvas for every layer: hatched fills as a canvas pattern
            styles = styles.map(function (s) {
                return s.fillColor === HATCH ? Object.assign({}, s, {fillColor: K.hatchPattern()}) : s;
            });
        }
        var layer = L.geoJson(null, {
            interactive: options.interactive,
            attribution: options.attribution || null,
            style: function (feature) { return styles[feature.properties.s]; }
        });
        function tip(p) { return p.t ? p.t.map(function (j) { return lines[j]; }).join("<br>") : ""; }
        layer.addData({type: "FeatureCollection", features: geometries.map(function (g, i) {
            var p = properties[i];
            Object.defineProperty(p, "tip", {get: function () { return tip(p); }});
            return {type: "Feature", geometry: g, properties: p};
        })});
        if (lines.length) {
            layer.bindTooltip(function (hovered) { return tip(hovered.feature.properties); }, {sticky: true});
        }
        layer.addTo(parent);
        return layer;
    };

    /* onEachFeature of a GeoJSON layer whose features carry their tooltip in `properties.tip`. */
    K.tip = function (feature, layer) {
        if (feature.properties.tip) { layer.bindTooltip(feature.properties.tip, {sticky: true}); }
    };

    /* A FastMarkerCluster callback: a small coloured dot, its label as tooltip. */
    K.dot = function (colour) {
        var html = '<div style="width:10px;height:10px;border-radius:50%;background:' + colour +
            ';border:1.5px solid #ffffff;box-shadow:0 0 1px #333333"></div>';
        return function (row) {
            var m = L.marker(new L.LatLng(row[0], row[1]),
                             {icon: L.divIcon({className: "koban-dot", html: html, iconSize: [12, 12]})});
            if (row[2]) { m.bindTooltip(row[2]); }
            return m;
        };
    };

    /* Data layers drawn so far in this frame: the map's frame is kept across filter changes (streamlit-folium
     * swaps the layer groups in place), so tests and the bench wait for the next generation. */
    K.generation = 0;

    /* What goes over the data layers, once per drawing of them (ui/map/elements.py Overlay, evaluated before
     * the layers): the legend (replaced, keeping the reader's open or folded choice), the sentence of an
     * empty result (or none), and the first view fitted clear of the legend (later drawings keep the view
     * the reader panned or zoomed to). */
    K.overlay = function (map, legend, message, bounds) {
        K.generation += 1;
        if (map._kobanLegend) { map._kobanLegend.remove(); map._kobanLegend = null; }
        if (legend) { map._kobanLegend = K.legend(map, legend.html, legend.labels); }
        if (map._kobanMessage) { map._kobanMessage.remove(); map._kobanMessage = null; }
        if (message) { map._kobanMessage = K.message(map, message); }
        if (bounds && !map._kobanFitted) { map._kobanFitted = true; K.fitClear(map, bounds); }
    };

    /* The legend: a collapsible Leaflet control (bottom right). Collapsed at first on a small map; it folds
     * away by itself when a click lands under it, so it never hides the clicked place. */
    K.legend = function (map, html, labels) {
        var control = L.control({position: "bottomright"});
        var onClick = null;
        control.onAdd = function () {
            var div = L.DomUtil.create("div", "koban-legend leaflet-bar");
            var button = L.DomUtil.create("button", "koban-legend-toggle", div);
            button.type = "button";
            var body = L.DomUtil.create("div", "koban-legend-body", div);
            body.id = "koban-legend-body";
            body.tabIndex = 0;  // it may scroll: reachable by keyboard
            body.setAttribute("role", "region");
            body.setAttribute("aria-label", labels.title);
            body.innerHTML = html;
            button.setAttribute("aria-controls", body.id);
            function show(open) {
                div.classList.toggle("koban-collapsed", !open);
                button.setAttribute("aria-expanded", open ? "true" : "false");
                button.textContent = open ? labels.hide : labels.show;
                map._kobanLegendOpen = open;
            }
            var size = map.getSize();
            show(map._kobanLegendOpen !== undefined ? map._kobanLegendOpen : size.x >= 700 && size.y >= 450);
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            L.DomEvent.on(button, "click", function () { show(div.classList.contains("koban-collapsed")); });
            onClick = function (e) {
                var r = div.getBoundingClientRect(), c = map.getContainer().getBoundingClientRect();
                var x = c.left + e.containerPoint.x, y = c.top + e.containerPoint.y;
                if (x >= r.left - 24 && x <= r.right + 24 && y >= r.top - 24 && y <= r.bottom + 24) { show(false); }
            };
            map.on("click", onClick);
            return div;
        };
        control.onRemove = function () { if (onClick) { map.off("click", onClick); } };
        control.addTo(map);
        return control;
    };

    /* A message over the map ("No reports in this period; ..."), top centre. */
    K.message = function (map, text) {
        var control = L.control({position: "topleft"});
        control.onAdd = function () {
            var div = L.DomUtil.create("div", "koban-message");
            div.setAttribute("role", "status");
            div.textContent = text;
            return div;
        };
        control.addTo(map);
        return control;
    };

    /* Fit the map to its bounds, keeping the data clear of the open legend (bottom right) where the map is
     * wide enough to spare the room; called once, before the layers are drawn. */
    K.fitClear = function (map, bounds) {
        var size = map.getSize();
        var legend = map.getContainer().querySelector(".koban-legend:not(.koban-collapsed)");
        var right = 10;
        if (legend && legend.offsetWidth + 20 < 0.45 * size.x) { right = legend.offsetWidth + 20; }
        map.fitBounds(bounds, {paddingTopLeft: [10, 10], paddingBottomRight: [right, 10], animate: false});
    };

    /* In the dashboard the map's frame is sized by the page's CSS (ui/map/show.py): the map fills its frame
     * and follows it when the window changes. */
    K.fillFrame = function (map) {
        if (window.self === window.top) { return; }
        var box = document.getElementById("map_div");
        if (!box) { return; }
        function fit() {
            var h = window.innerHeight;
            if (h > 100 && Math.abs(box.offsetHeight - h) > 1) { box.style.height = h + "px"; map.invalidateSize(false); }
        }
        window.addEventListener("resize", fit);
        fit();
    };
})();
