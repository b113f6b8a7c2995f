// rnncourse: small reader aids on every page (Jupyter Book adds every .js of the book's
// _static/ folder). Checked by tests/test_site.py.
(function () {
  "use strict";

  // A widget on this site is a static preview of the state saved in the notebook:
  // say so above each one, with the way to make it move.
  function markStaticWidgets() {
    var views = document.querySelectorAll(
      'script[type="application/vnd.jupyter.widget-view+json"]');
    Array.prototype.forEach.call(views, function (script) {
      var output = script.closest(".cell_output, .output") || script.parentElement;
      if (!output || output.querySelector(".rnncourse-static-note")) return;
      var note = document.createElement("p");
      note.className = "rnncourse-static-note";
      note.setAttribute("role", "note");
      note.textContent = "Static preview \u2014 run the notebook to move the slider " +
        "(launch it with the rocket button at the top of the page).";
      output.insertBefore(note, output.firstChild);
    });
  }

  // Display math that is at most 20 % too wide for its column is scaled down to fit;
  // wider math keeps its size and scrolls sideways in its box (see rnncourse.css).
  function fitMath() {
    var boxes = document.querySelectorAll('mjx-container[display="true"]');
    Array.prototype.forEach.call(boxes, function (box) {
      // MathJax sets its own scale as an inline font-size: keep it as the base.
      if (box.dataset.rnncourseFont === undefined) {
        box.dataset.rnncourseFont = box.style.fontSize || "";
      }
      var base = box.dataset.rnncourseFont;
      box.style.fontSize = base;
      var need = box.scrollWidth, have = box.clientWidth;
      if (have > 0 && need > have + 1 && have / need >= 0.8) {
        var percent = base.slice(-1) === "%" ? parseFloat(base) : 100;
        box.style.fontSize = (percent * Math.floor((have / need) * 98) / 100) + "%";
      }
    });
  }

  // Inline math wider than its paragraph (a long formula on a phone) cannot wrap:
  // let it scroll inside its own box rather than push the page sideways.
  function fitInlineMath() {
    var inline = document.querySelectorAll('mjx-container:not([display="true"])');
    Array.prototype.forEach.call(inline, function (box) {
      box.classList.remove("rnncourse-wide-inline");
      var block = box.closest("p, li, dd, td, th, div") || box.parentElement;
      if (block && box.getBoundingClientRect().width > block.clientWidth + 1) {
        box.classList.add("rnncourse-wide-inline");
      }
    });
  }

  // A figure is never shown so small that its text gets unreadable. Its displayed size
  // is declared in the page (the <img>'s inline width: the 100-dpi size, while the PNG
  // holds twice the pixels) and its smallest text (9 pt) is 12.5 CSS px at that size;
  // below 6.5 CSS px the figure keeps that scale and scrolls sideways in its own box.
  var MIN_SCALE = 6.5 / (9 * 100 / 72);
  function fitFigures() {
    var imgs = document.querySelectorAll(".cell_output img, .widget-subarea img");
    Array.prototype.forEach.call(imgs, function (img) {
      if (!img.complete || !img.naturalWidth) {
        img.addEventListener("load", fitFigures, { once: true });
        return;
      }
      if (img.dataset.rnncourseCssWidth === undefined) {
        img.dataset.rnncourseCssWidth = img.style.width || "";
      }
      img.classList.remove("rnncourse-wide-figure");
      img.style.width = img.dataset.rnncourseCssWidth;
      var declared = parseFloat(img.dataset.rnncourseCssWidth) || img.naturalWidth;
      var shown = img.getBoundingClientRect().width;
      var least = Math.ceil(MIN_SCALE * declared);
      if (shown > 0 && shown < least) {
        img.style.width = least + "px";
        img.classList.add("rnncourse-wide-figure");
        img.parentElement.classList.add("rnncourse-figure-scroll");
      }
    });
  }

  // Printed output wider than its column. Text laid out in columns (a table printed as
  // text: two or more lines with two or more gaps of 2+ spaces) keeps its lines: a
  // smaller font instead of a scroll bar, down to 72 % and never below 10 px; wider
  // stays and scrolls. Any other text (sampled sentences, dicts, long messages) wraps.
  var COLUMNS = /\S {2,}\S.* {2,}\S/;
  function looksTabular(text) {
    return text.split("\n").filter(function (line) { return COLUMNS.test(line); })
      .length >= 2;
  }
  function fitOutputs() {
    var blocks = document.querySelectorAll(".cell_output pre");
    Array.prototype.forEach.call(blocks, function (pre) {
      pre.style.fontSize = "";
      pre.classList.remove("rnncourse-wrap", "rnncourse-table");
      var need = pre.scrollWidth, have = pre.clientWidth;
      if (have <= 0 || need <= have + 1) return;
      if (!looksTabular(pre.textContent)) {
        pre.classList.add("rnncourse-wrap");
        return;
      }
      pre.classList.add("rnncourse-table");  // a table: it may scroll (tests/test_site.py)
      if (have / need >= 0.72) {
        var size = parseFloat(getComputedStyle(pre).fontSize) * (have / need) * 0.97;
        if (size >= 10) pre.style.fontSize = size.toFixed(2) + "px";  // never below 10 px
      }
    });
  }

  // The themes bind their drawer handlers to the FIRST .primary-toggle and
  // .secondary-toggle of the page (pydata-sphinx-theme: open the sidebar as a modal
  // drawer below 992 px / 1200 px; sphinx-book-theme: hide the primary sidebar from
  // 992 px on). That first copy sits in the theme's navbar, which the book theme never
  // shows; the buttons a reader sees (in the article header) have no handler at all.
  // Hand their clicks to the bound copy, so that the theme does what it already does.
  function forwardDrawerToggles() {
    ["primary", "secondary"].forEach(function (side) {
      var buttons = document.querySelectorAll("." + side + "-toggle");
      var bound = buttons[0];
      Array.prototype.forEach.call(buttons, function (button) {
        if (button === bound || button.dataset.rnncourseForwarded) return;
        button.dataset.rnncourseForwarded = "true";
        button.addEventListener("click", function (event) {
          event.preventDefault();
          event.stopPropagation();
          var tip = window.bootstrap && window.bootstrap.Tooltip &&
            window.bootstrap.Tooltip.getInstance(button);
          if (tip) tip.hide();
          bound.click();
        });
      });
    });
  }

  // sphinx-copybutton's buttons hold only an icon (its SVG <title>, which not every
  // screen reader reads as the button's name): give each one a name of its own.
  function nameCopyButtons() {
    var buttons = document.querySelectorAll("button.copybtn:not([aria-label])");
    Array.prototype.forEach.call(buttons, function (button) {
      button.setAttribute("aria-label", "Copy code");
    });
  }

  // Chapter 3's parameter calculator works without a kernel: the page shows its plain
  // HTML form (rnncourse.figures.params.calculator_html, not the ipywidgets one) and its
  // counts are recomputed here, in the browser, with the rules of
  // rnncourse.params.count_parameters, whenever the reader changes an input. The stored
  // output stays until then. tests/test_site.py checks the totals against torch.nn.
  var CALC_CELLS = { "RNN": ["rnn", 1], "GRU": ["gru", 3], "LSTM": ["lstm", 4],
                     "peephole LSTM": ["peephole", 4] };
  var CALC_BIASES = { "no bias": "none", "textbook: one b per gate block": "textbook",
                      "PyTorch: bias_ih + bias_hh": "pytorch" };

  function countParameters(label, n, sizes, k, bias, bidirectional) {
    var cell = CALC_CELLS[label], g = cell[1], dirs = bidirectional ? 2 : 1;
    var times = g === 1 ? "" : g + "\u00b7", rows = [], layerIn = n;
    sizes.forEach(function (d, i) {
      ["forward", "reverse"].slice(0, dirs).forEach(function (direction) {
        var tag = "layer " + (i + 1) + (bidirectional ? " (" + direction + ")" : "");
        rows.push([tag + ": U (input\u2192hidden)", times + layerIn + "\u00b7" + d,
                   g * layerIn * d]);
        rows.push([tag + ": W (hidden\u2192hidden)", times + d + "\u00b7" + d, g * d * d]);
        if (bias === "textbook") {
          rows.push([tag + ": b (bias)", times + d, g * d]);
        } else if (bias === "pytorch") {
          rows.push([tag + ": b_ih (input bias)", times + d, g * d]);
          rows.push([tag + ": b_hh (hidden bias)", times + d, g * d]);
        }
        if (cell[0] === "peephole") rows.push([tag + ": p (peepholes, diagonal)", "3\u00b7" + d, 3 * d]);
      });
      layerIn = dirs * d;
    });
    if (k) {
      rows.push(["output: V (hidden\u2192output)", layerIn + "\u00b7" + k, layerIn * k]);
      if (bias !== "none") rows.push(["output: c (output bias)", String(k), k]);
    }
    var parts = ["input " + n, "hidden " + (sizes.length > 1 ? "[" + sizes.join(", ") + "]"
                                                               : sizes[0])];
    if (k) parts.push("output " + k);
    if (bidirectional) parts.push("bidirectional");
    parts.push(bias === "none" ? "no bias" : bias + " biases");
    var depth = sizes.length > 1 ? sizes.length + "-layer " : "";
    return { title: "Parameters of a " + depth + label + " (" + parts.join(", ") + ")",
             rows: rows };
  }

  function calculatorTable(count) {
    var esc = function (text) {
      var span = document.createElement("span");
      span.textContent = String(text);
      return span.innerHTML;
    };
    var fmt = function (x) { return x.toLocaleString("en-US"); };
    var row = function (tag, cells) {
      return "<tr>" + cells.map(function (c, i) {
        return "<" + tag + ' style="text-align:' + (i === 2 ? "right" : "left") + '">' +
          esc(c) + "</" + tag + ">";
      }).join("") + "</tr>";
    };
    var total = count.rows.reduce(function (sum, r) { return sum + r[2]; }, 0);
    return "<table><caption><b>" + esc(count.title) + "</b></caption><thead>" +
      row("th", ["weights", "formula", "parameters"]) + "</thead><tbody>" +
      count.rows.map(function (r) { return row("td", [r[0], r[1], fmt(r[2])]); }).join("") +
      row("td", ["total", "", fmt(total)]) + "</tbody></table>";
  }

  function liveCalculators() {
    var boxes = document.querySelectorAll(".rnncourse-calculator:not([data-rnncourse-live])");
    Array.prototype.forEach.call(boxes, function (box) {
      var field = function (text) {
        var labels = box.querySelectorAll(".rnncourse-field > label");
        for (var i = 0; i < labels.length; i++) {
          if (labels[i].textContent.trim() === text) {
            return labels[i].parentElement.querySelector("select, input");
          }
        }
        return null;
      };
      var f = { cell: field("cell"), n: field("input size n"),
                sizes: field("hidden sizes d (bottom first)"),
                k: field("output size k (0: none)"), bias: field("biases"),
                bidirectional: field("bidirectional") };
      var output = box.querySelector(".rnncourse-calculator-output");
      if (!output || Object.keys(f).some(function (key) { return !f[key]; })) return;
      box.dataset.rnncourseLive = "true";
      var update = function () {
        var area = document.createElement("div");
        area.className = "rnncourse-live-output";
        area.setAttribute("aria-live", "polite");
        try {
          var n = Number(f.n.value), k = Number(f.k.value);
          if (!Number.isInteger(n) || n < 1) {
            throw new Error("input size n must be a positive integer, got " + f.n.value);
          }
          if (!Number.isInteger(k) || k < 0) {
            throw new Error("output size k must be 0 (none) or a positive integer, got " +
                            f.k.value);
          }
          var parts = f.sizes.value.replace(/,/g, " ").split(/\s+/).filter(Boolean);
          if (!parts.length) throw new Error("type at least one hidden size, e.g. '1024, 512'");
          var sizes = parts.map(function (part) {
            if (!/^[0-9]+$/.test(part) || Number(part) === 0) {
              throw new Error("hidden sizes must be positive integers, got '" + part +
                              "' in '" + f.sizes.value + "'");
            }
            return Number(part);
          });
          var label = f.cell.value, bias = CALC_BIASES[f.bias.value];
          if (!CALC_CELLS[label] || !bias) throw new Error("unknown cell or bias choice");
          area.innerHTML = calculatorTable(countParameters(label, n, sizes, k, bias,
                                                           f.bidirectional.checked));
        } catch (err) {
          var pre = document.createElement("pre");
          pre.textContent = "cannot count: " + err.message;
          area.appendChild(pre);
        }
        output.replaceChildren(area);
      };
      [f.cell, f.n, f.sizes, f.k, f.bias, f.bidirectional].forEach(function (input) {
        input.addEventListener("input", update);
        input.addEventListener("change", update);
      });
      var note = box.querySelector(".rnncourse-static-note");
      if (note) {
        note.classList.add("rnncourse-live-note");
        note.textContent = "Live in your browser, no kernel needed: change any input and " +
          "the table is recomputed (with the rules of rnncourse.params.count_parameters).";
      }
    });
  }

  function fitAll() {
    fitMath();
    fitInlineMath();
    fitFigures();
    fitOutputs();
  }

  // MathJax loads asynchronously: wait until it exists, then until it has typeset.
  function whenMathIsReady(callback, tries) {
    var mj = window.MathJax;
    if (mj && mj.startup && mj.startup.promise) {
      mj.startup.promise.then(callback);
    } else if ((tries || 0) < 100) {
      setTimeout(function () { whenMathIsReady(callback, (tries || 0) + 1); }, 100);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    forwardDrawerToggles();
    nameCopyButtons();
    window.addEventListener("load", nameCopyButtons);
    markStaticWidgets();
    liveCalculators();
    fitFigures();
    fitOutputs();
    window.addEventListener("load", fitFigures);
    whenMathIsReady(fitAll);
    var timer = null;
    var refit = function () {
      clearTimeout(timer);
      timer = setTimeout(function () { liveCalculators(); fitAll(); }, 100);
    };
    window.addEventListener("resize", refit);
    // Widgets draw their outputs (printed text, figures) after the page has loaded.
    var widgets = document.querySelectorAll(
      'script[type="application/vnd.jupyter.widget-view+json"]');
    if (widgets.length && window.MutationObserver) {
      Array.prototype.forEach.call(widgets, function (script) {
        new MutationObserver(refit).observe(script.parentElement,
                                            { childList: true, subtree: true });
      });
    }
  });
})();
