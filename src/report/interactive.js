// The run page's interactive charts (report/interactive.rs): uPlot over the JSON in #ip-data.
(function () {
  "use strict";
  var d = JSON.parse(document.getElementById("ip-data").textContent);
  // The chart fills its box's content width (clientWidth less the 8 px padding each side), so
  // the page never scrolls sideways.
  function width(id) { return Math.max(320, document.getElementById(id).clientWidth - 16); }
  function hue(i) { return "hsl(" + ((i * 47) % 360) + ", 45%, 55%)"; }
  function fmt(u, v) { return v == null ? "--" : Number(v).toPrecision(4); }
  function chart(id, title, series, data) {
    var opts = {
      title: title, width: width(id), height: 320,
      scales: { x: { time: false }, y: { distr: 3 } },
      axes: [{ label: "step" }, { size: 70 }],
      series: [{ label: "step" }].concat(series),
      cursor: { drag: { x: true, y: false } },
    };
    return new uPlot(opts, data, document.getElementById(id));
  }
  var every = d.bucket > 1 ? " (each point: the largest of " + d.bucket + " steps)" : "";
  var loss = chart("ip-loss", "loss (log scale)" + every,
    [{ label: "loss", stroke: "#1f5fa8", width: 2, value: fmt }], [d.steps, d.loss]);
  var named = {};
  d.highlight.forEach(function (i) { named[i] = true; });
  var series = d.layers.map(function (name, i) {
    return named[i]
      ? { label: name, stroke: "#c62828", width: 3, value: fmt }
      : { label: name, stroke: hue(i), width: 1.25, value: fmt };
  });
  var grad = chart("ip-grad", "weight gradient norm per layer (log scale)" + every, series,
    [d.steps].concat(d.grad));
  window.stabcheckCharts = { loss: loss, grad: grad, data: d };
  window.addEventListener("resize", function () {
    loss.setSize({ width: width("ip-loss"), height: 320 });
    grad.setSize({ width: width("ip-grad"), height: 320 });
  });
})();
