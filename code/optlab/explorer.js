// The explorers' update rules and landscapes, run by the reader's browser.
//
// This is the body of the one Bokeh CustomJS callback that optlab.explorers
// attaches to every control of an explorer: it reruns every path from the
// current settings and redraws. The rules are Keras's (shared/reference:
// keras-optimizers.md), in Keras's order of operations, with every
// intermediate rounded to float32 (Math.fround), as TensorFlow computes them;
// the browser tests (tests/test_browser.py) check the drawn paths against
// optlab runs to float32 tolerance. The divergence rule is
// optlab.results.divergence_step's, with trajectories.run's default bound.
//
// Arguments (named by optlab.explorers): config (JSON text), controls
// (widgets, by config.control_names), paths, losses, ends (one data source
// per run), starts and minima (sources of the start and the minima),
// contours (one renderer per landscape), view (the contour plot), readout
// (a Div), and cb_obj.
const F = Math.fround;
const spec = JSON.parse(config);
const control = {};
spec.control_names.forEach((name, i) => { control[name] = controls[i]; });

// --- what the reader chose -------------------------------------------------
// A ladder is a categorical slider over exact decimals (its categories are
// their labels); a flag is a check box; a choice is a drop-down.
function valueOf(name) {
  const widget = control[name];
  const param = spec.parameters[name];
  if (param.kind === "flag") return widget.active === true;
  if (param.kind === "ladder") return param.values[widget.categories.indexOf(widget.value)];
  return widget.value;
}
const setLadder = (name, value) => {
  const param = spec.parameters[name];
  control[name].value = param.labels[param.values.indexOf(value)];
};
const rateKey = (i) => (spec.comparison ? "learning_rate_" + i : "learning_rate");
const landscape = spec.landscapes[valueOf("landscape")];

// A tap on the contour plot moves the start there, to the sliders' grid (the
// sliders follow it, and their change reruns this callback).
if (cb_obj && cb_obj.event_name === "tap") {
  const snap = (v, name) => {
    const s = control[name];
    const snapped = s.start + Math.round((v - s.start) / s.step) * s.step;
    return Math.min(s.end, Math.max(s.start, Number(snapped.toFixed(6))));
  };
  control.x0.value = snap(cb_obj.x, "x0");
  control.y0.value = snap(cb_obj.y, "y0");
  return;
}

// A new landscape brings its own window, start and steps (and, in a
// comparison with tuned rates on, each optimizer's tuned rate there).
if (cb_obj === control.landscape) {
  [["x0", landscape.x_range, landscape.grid[0]], ["y0", landscape.y_range, landscape.grid[1]]].forEach(
    ([axis, range, step]) => {
      const s = control[axis];
      s.start = range[0]; s.end = range[1]; s.step = step;
    });
  control.x0.value = landscape.start[0];
  control.y0.value = landscape.start[1];
  control.steps.value = landscape.steps;
  view.x_range.start = landscape.x_range[0]; view.x_range.end = landscape.x_range[1];
  view.y_range.start = landscape.y_range[0]; view.y_range.end = landscape.y_range[1];
  minima.data = { x: landscape.minima.map((m) => m[0]), y: landscape.minima.map((m) => m[1]) };
  contours.forEach((renderer, i) => { renderer.visible = spec.landscape_keys[i] === valueOf("landscape"); });
}
if (spec.tuned && control.tuned) {
  const tunedHere = spec.tuned[valueOf("landscape")];
  const moved = spec.runs.findIndex((run, i) => cb_obj === control[rateKey(i)]);
  if (moved >= 0 && control.tuned.active && valueOf(rateKey(moved)) !== tunedHere[spec.runs[moved].label]) {
    control.tuned.active = false;  // a rate set by hand: the box no longer holds
  } else if (control.tuned.active && (cb_obj === control.landscape || cb_obj === control.tuned)) {
    spec.runs.forEach((run, i) => setLadder(rateKey(i), tunedHere[run.label]));
  }
}
if (spec.rule_choice && cb_obj === control.rule) {  // another optimizer: its own defaults
  for (const [name, value] of Object.entries(spec.rule_defaults[valueOf("rule")])) {
    if (!control[name]) continue;
    if (spec.parameters[name].kind === "ladder") setLadder(name, value);
    else if (spec.parameters[name].kind === "flag") control[name].active = value;
  }
}

// --- the landscapes: f and its gradient, with the rounding R --------------
// (float32 for the paths, as TensorFlow computes them; none, that is float64,
// for the divergence bound, as trajectories.run computes it)
const landscapes = (R) => {
const F = R;
const sq = (a) => F(a * a);
return {
  quadratic: (p) => ({
    f: (x, y) => F(F(0.5) * F(sq(x) + F(F(p.kappa) * sq(y)))),
    g: (x, y) => [x, F(F(p.kappa) * y)],
  }),
  rotated_quadratic: (p) => {
    const c = F(p.cos), s = F(p.sin), k = F(p.kappa);
    const uv = (x, y) => [F(F(c * x) + F(s * y)), F(F(F(-s) * x) + F(c * y))];
    return {
      f: (x, y) => { const [u, v] = uv(x, y); return F(F(0.5) * F(sq(u) + F(k * sq(v)))); },
      g: (x, y) => {
        const [u, v] = uv(x, y); const kv = F(k * v);
        return [F(F(c * u) - F(s * kv)), F(F(s * u) + F(c * kv))];
      },
    };
  },
  rosenbrock: (p) => {
    const a = F(p.a), b = F(p.b);
    return {
      f: (x, y) => F(sq(F(a - x)) + F(b * sq(F(y - sq(x))))),
      g: (x, y) => {
        const r = F(y - sq(x));
        return [F(F(F(-2) * F(a - x)) - F(F(F(4 * b) * x) * r)), F(F(2 * b) * r)];
      },
    };
  },
  beale: () => {
    const terms = (x, y) => {
      const y2 = sq(y), y3 = F(y2 * y);
      return [F(F(1.5 - x) + F(x * y)), F(F(2.25 - x) + F(x * y2)), F(F(2.625 - x) + F(x * y3)), y2];
    };
    return {
      f: (x, y) => { const [a, b, c] = terms(x, y); return F(F(sq(a) + sq(b)) + sq(c)); },
      g: (x, y) => {
        const [a, b, c, y2] = terms(x, y);
        const gx = F(F(F(F(2 * a) * F(y - 1)) + F(F(2 * b) * F(y2 - 1))) + F(F(2 * c) * F(F(y2 * y) - 1)));
        const gy = F(F(F(F(2 * a) * x) + F(F(2 * b) * F(F(2 * x) * y))) + F(F(2 * c) * F(F(3 * x) * y2)));
        return [gx, gy];
      },
    };
  },
  saddle: () => ({
    f: (x, y) => F(F(F(F(0.5) * sq(x)) - F(F(0.5) * sq(y))) + F(F(0.25) * sq(sq(y)))),
    g: (x, y) => [x, F(F(sq(y) * y) - y)],
  }),
  double_well: (p) => {
    const t = F(p.tilt);
    return {
      f: (x, y) => F(F(sq(F(sq(x) - 1)) + F(t * x)) + sq(y)),
      g: (x, y) => [F(F(F(4 * x) * F(sq(x) - 1)) + t), F(2 * y)],
    };
  },
};
};
const sq = (a) => F(a * a);

// --- the update rules, as Keras computes them (t counts from 1) ------------
const pow32 = (b, t) => F(Math.pow(F(b), t));
const RULES = {
  sgd: (h) => {
    const lr = F(h.learning_rate), mu = F(h.momentum || 0);
    return {
      init: () => ({ m: [0, 0] }),
      step: (w, g, s) => w.map((wi, i) => {
        if (!(h.momentum > 0)) return F(wi - F(lr * g[i]));
        s.m[i] = F(F(-F(g[i] * lr)) + F(s.m[i] * mu));              // m ← μm − ηg
        return h.nesterov ? F(wi + F(F(-F(g[i] * lr)) + F(s.m[i] * mu)))  // w ← w + μm − ηg
                          : F(wi + s.m[i]);                          // w ← w + m
      }),
    };
  },
  adagrad: (h) => {
    const lr = F(h.learning_rate), eps = F(h.epsilon), a0 = F(h.initial_accumulator_value);
    return {
      init: () => ({ acc: [a0, a0] }),
      step: (w, g, s) => w.map((wi, i) => {
        s.acc[i] = F(s.acc[i] + sq(g[i]));                            // G ← G + g²
        return F(wi - F(F(lr * g[i]) / F(Math.sqrt(F(s.acc[i] + eps)))));  // w ← w − ηg/√(G + ε)
      }),
    };
  },
  rmsprop: (h) => {
    const lr = F(h.learning_rate), rho = F(h.rho), eps = F(h.epsilon), mu = F(h.momentum || 0);
    const keep = F(1 - h.rho);
    return {
      init: () => ({ v: [0, 0], mg: [0, 0], mom: [0, 0] }),
      step: (w, g, s) => w.map((wi, i) => {
        s.v[i] = F(F(rho * s.v[i]) + F(keep * sq(g[i])));             // v ← ρv + (1−ρ)g²
        let den = s.v[i];
        if (h.centered) {
          s.mg[i] = F(F(rho * s.mg[i]) + F(keep * g[i]));            // ḡ ← ρḡ + (1−ρ)g
          den = F(den - sq(s.mg[i]));
        }
        const inc = F(F(lr * g[i]) / F(Math.sqrt(F(den + eps))));   // ηg/√(v − ḡ² + ε)
        if (h.momentum > 0) {
          s.mom[i] = F(F(mu * s.mom[i]) + inc);
          return F(wi - s.mom[i]);
        }
        return F(wi - inc);
      }),
    };
  },
  adam: (h) => {
    const lr = F(h.learning_rate), eps = F(h.epsilon);
    const k1 = F(1 - h.beta_1), k2 = F(1 - h.beta_2);
    const correct = h.bias_correction !== false;
    return {
      init: () => ({ t: 0, m: [0, 0], v: [0, 0], vmax: [0, 0] }),
      step: (w, g, s) => {
        s.t += 1;
        const alpha = correct
          ? F(F(lr * F(Math.sqrt(F(1 - pow32(h.beta_2, s.t))))) / F(1 - pow32(h.beta_1, s.t)))
          : lr;                                                      // α = η√(1−β₂ᵗ)/(1−β₁ᵗ)
        return w.map((wi, i) => {
          s.m[i] = F(s.m[i] + F(F(g[i] - s.m[i]) * k1));             // m ← m + (1−β₁)(g − m)
          s.v[i] = F(s.v[i] + F(F(sq(g[i]) - s.v[i]) * k2));         // v ← v + (1−β₂)(g² − v)
          let v = s.v[i];
          if (h.amsgrad) { s.vmax[i] = Math.max(s.vmax[i], v); v = s.vmax[i]; }
          return F(wi - F(F(s.m[i] * alpha) / F(F(Math.sqrt(v)) + eps)));  // w ← w − αm/(√v + ε)
        });
      },
    };
  },
  nadam: (h) => {  // Keras casts β₁, β₂ to float32 before 1 − β
    const lr = F(h.learning_rate), eps = F(h.epsilon), b1 = F(h.beta_1);
    const k1 = F(1 - b1), k2 = F(1 - F(h.beta_2));
    return {
      init: () => ({ t: 0, u: F(1), m: [0, 0], v: [0, 0] }),
      step: (w, g, s) => {
        s.t += 1;
        const ut = F(b1 * F(1 - F(F(0.5) * pow32(0.96, s.t))));
        const ut1 = F(b1 * F(1 - F(F(0.5) * pow32(0.96, s.t + 1))));
        s.u = F(F(s.u * b1) * F(1 - F(F(0.5) * pow32(0.96, s.t))));  // u ← u·β₁·(1 − ½·0.96ᵗ), first
        const u1 = F(s.u * ut1);
        const b2t = pow32(h.beta_2, s.t);
        return w.map((wi, i) => {
          s.m[i] = F(s.m[i] + F(F(g[i] - s.m[i]) * k1));
          s.v[i] = F(s.v[i] + F(F(sq(g[i]) - s.v[i]) * k2));
          const mHat = F(F(F(ut1 * s.m[i]) / F(1 - u1)) + F(F(F(1 - ut) * g[i]) / F(1 - s.u)));
          const vHat = F(s.v[i] / F(1 - b2t));
          return F(wi - F(F(mHat * lr) / F(F(Math.sqrt(vHat)) + eps)));
        });
      },
    };
  },
  adamax: (h) => {
    const lr = F(h.learning_rate), eps = F(h.epsilon), b2 = F(h.beta_2), k1 = F(1 - h.beta_1);
    return {
      init: () => ({ t: 0, m: [0, 0], u: [0, 0] }),
      step: (w, g, s) => {
        s.t += 1;
        const b1t = pow32(h.beta_1, s.t);
        return w.map((wi, i) => {
          s.m[i] = F(s.m[i] + F(F(g[i] - s.m[i]) * k1));             // m ← m + (1−β₁)(g − m)
          s.u[i] = Math.max(F(b2 * s.u[i]), Math.abs(g[i]));        // u ← max(β₂u, |g|)
          return F(wi - F(F(lr * s.m[i]) / F(F(1 - b1t) * F(s.u[i] + eps))));
        });
      },
    };
  },
  lion: (h) => {  // Keras casts β₁, β₂ to float32 before 1 − β
    const lr = F(h.learning_rate), b1 = F(h.beta_1), b2 = F(h.beta_2);
    const k1 = F(1 - b1), k2 = F(1 - b2);
    return {
      init: () => ({ m: [0, 0] }),
      step: (w, g, s) => w.map((wi, i) => {
        const c = F(F(s.m[i] * b1) + F(g[i] * k1));                // c = β₁m + (1−β₁)g
        const next = F(wi - F(lr * Math.sign(c)));                 // w ← w − η sign(c)
        s.m[i] = F(F(s.m[i] * b2) + F(g[i] * k2));                 // m ← β₂m + (1−β₂)g
        return next;
      }),
    };
  },
};

RULES.adamw = RULES.adam;  // AdamW is Adam with its weight decay on (rule_defaults)

// --- one run: the path, its losses, and where it diverged --------------------
function runOne(rule, hyper, kind, params, start, steps) {
  const surface = landscapes(F)[kind](params);
  const f = surface.f;
  const update = RULES[rule](hyper);
  const state = update.init();
  const lr = F(hyper.learning_rate), wd = F(hyper.weight_decay || 0);
  let w = [F(start[0]), F(start[1])];
  // trajectories.run's bound, from f in float64 at the start as given
  const bound = 1e6 * (Math.abs(landscapes((v) => v)[kind](params).f(start[0], start[1])) + 1);
  const xs = [], ys = [], ls = [];
  for (let k = 0; k <= steps; k++) {
    const loss = f(w[0], w[1]);
    if (!Number.isFinite(w[0]) || !Number.isFinite(w[1]) || !Number.isFinite(loss) || loss > bound) {
      return { xs, ys, ls, diverged: k };
    }
    xs.push(w[0]); ys.push(w[1]); ls.push(loss);
    if (k === steps) break;
    const g = surface.g(w[0], w[1]);
    if (hyper.weight_decay > 0) w = w.map((wi) => F(wi - F(F(wi * wd) * lr)));  // Keras's base class: w ← w − wλη first
    w = update.step(w, g, state);
  }
  return { xs, ys, ls, diverged: null };
}

// --- draw -------------------------------------------------------------------
const start = [control.x0.value, control.y0.value];
const steps = Math.round(control.steps.value);
const SUPERSCRIPT = { "-": "⁻", "+": "", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
const fmt = (v) => {  // 3 significant digits, or a power of ten: 2.4×10⁻⁴
  if (v === 0 || (Math.abs(v) >= 0.01 && Math.abs(v) < 1000)) return String(Number(v.toPrecision(3)));
  const [mantissa, exponent] = v.toExponential(1).split("e");
  return `${mantissa}×10${[...exponent].map((c) => SUPERSCRIPT[c]).join("")}`;
};
const lines = [];
spec.runs.forEach((run, i) => {
  const rule = spec.rule_choice ? valueOf("rule") : run.rule;
  const hyper = Object.assign({}, spec.rule_defaults[rule], run.settings);
  const shown = [];
  for (const name of run.controls) {
    if (spec.rule_choice && name !== "learning_rate" && !(name in spec.rule_defaults[rule])) continue;  // not this rule's
    const key = name === "learning_rate" ? rateKey(i) : name;
    hyper[name] = valueOf(key);
    const param = spec.parameters[key];
    shown.push(param.kind === "flag" ? `${param.symbol} ${hyper[name] ? "on" : "off"}` : `${param.symbol} = ${fmt(hyper[name])}`);
  }
  const name = spec.rule_labels[rule] && spec.rule_choice ? spec.rule_labels[rule] : run.label;
  const refused = rule === "lion" && !(hyper.beta_1 > 0);
  const result = refused ? { xs: [], ys: [], ls: [], diverged: null }
                         : runOne(rule, hyper, landscape.kind, landscape.params, start, steps);
  const gaps = result.ls.map((l) => { const gap = l - landscape.min_value; return gap > 0 ? gap : NaN; });
  paths[i].data = { x: result.xs, y: result.ys };
  losses[i].data = { step: result.xs.map((_, k) => k), gap: gaps };
  const last = result.xs.length - 1;
  ends[i].data = last >= 0 ? { x: [result.xs[last]], y: [result.ys[last]] } : { x: [], y: [] };
  const outcome = refused ? "<b>Lion needs β₁ &gt; 0</b> (Keras refuses 0)"
    : result.diverged !== null ? `<b>diverged at step ${result.diverged}</b>`
    : `loss − minimum after ${steps} steps: <b>${fmt(result.ls[last] - landscape.min_value)}</b>`;
  lines.push(`<span style="color:${run.color}" aria-hidden="true">■</span> ${name}`
             + `${shown.length ? " (" + shown.join(", ") + ")" : ""}: ${outcome}`);
});
starts.data = { x: [start[0]], y: [start[1]] };
readout.text = `${landscape.label}, start (${fmt(start[0])}, ${fmt(start[1])})<br>` + lines.join("<br>");
