// The run page's interactive charts (report/interactive.rs): uPlot over the JSON in #ip-data.
(function () {
  "use strict";
  // `false` marks a step a run has no point at (the other run's steps): undefined, which uPlot
  // joins across; `null` (a non-finite value) stays a gap.
  var d = JSON.parse(document.getElementById("ip-data").textContent, function (k, v) {
    return v === false ? undefined : v;
  });
  // The chart fills its box's content width (clientWidth less the 8 px padding each side), so
  // the page never scrolls sideways.
  function width(id) { return Math.max(320, document.getElementById(id).clientWidth - 16); }
  function hue(i) { return "hsl(" + ((i * 47) % 360) + ", 45%, 55%)"; }
  function fmt(u, v) { return v == null ? "--" : Number(v).toPrecision(4); }
  function chart(id, title, series, data) {
    var opts = {
      title: title, width: width(id), height: 320,
      scales: { x: { time: false }, y: { distr: 3 } },
      // Log-axis ticks as 0.01 ... 1000, else 1e-5: uPlot's default prints 1e-4 as "0".
      axes: [{ label: "step" }, { size: 70, values: function (u, vals) {
        return vals.map(function (v) {
          if (v == null) return "";
          return v >= 0.01 && v < 1e4 ? String(+v.toPrecision(3)) : v.toExponential(0);
        });
      } }],
      series: [{ label: "step" }].concat(series),
      cursor: { drag: { x: true, y: false } },
    };
    return new uPlot(opts, data, document.getElementById(id));
  }
  var every = d.bucket > 1 ? " (each point: the largest of " + d.bucket + " steps)" : "";
  var c = d.compare;
  // A compared run: dashed, joined across the steps only the other run has.
  function dashed(s) { s.dash = [6, 4]; return s; }
  var lossSeries = [{ label: "loss", stroke: "#1f5fa8", width: 2, value: fmt }];
  var lossData = [d.steps, d.loss];
  if (c) {
    // A stored curve (a fix's) may be bucketed: each point the largest loss of its bucket.
    var each = c.bucket > 1 ? " (each point the largest of " + c.bucket + " steps)" : "";
    lossSeries.push(dashed({ label: "loss: " + c.label + each, stroke: "#009e73", width: 2,
      value: fmt }));
    lossData.push(c.loss);
  }
  var loss = chart("ip-loss", "loss (log scale)" + every, lossSeries, lossData);
  var named = {};
  d.highlight.forEach(function (i) { named[i] = true; });
  var series = d.layers.map(function (name, i) {
    return named[i]
      ? { label: name, stroke: "#c62828", width: 3, value: fmt }
      : { label: name, stroke: hue(i), width: 1.25, value: fmt };
  });
  var gradData = [d.steps].concat(d.grad);
  if (c && c.grad) {
    c.grad.forEach(function (g, i) {
      if (g == null) return;
      series.push(dashed({ label: d.layers[i] + ": " + c.label, stroke: hue(i), width: 1.25,
        value: fmt }));
      gradData.push(g);
    });
  }
  var grad = chart("ip-grad", "weight gradient norm per layer (log scale)" + every, series,
    gradData);
  window.stabcheckCharts = { loss: loss, grad: grad, data: d };
  window.addEventListener("resize", function () {
    loss.setSize({ width: width("ip-loss"), height: 320 });
    grad.setSize({ width: width("ip-grad"), height: 320 });
  });
})();
