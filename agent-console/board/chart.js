// Inline SVG drawing for the reports: a bar chart with its own <title> and <desc> (role="img"),
// drawn at its natural size (text never shrinks) inside a region that scrolls on a narrow screen.
// The same figures are always in a table too: the chart is for seeing the shape at a glance.

let chartSeq = 0;
const NS = 'http://www.w3.org/2000/svg';

/** An SVG element; attrs as attributes, children as nodes or strings (text nodes, never markup). */
export function svg(tag, attrs = {}, children = []) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(key, String(value));
  }
  for (const child of [].concat(children)) if (child !== null && child !== undefined) node.append(child);
  return node;
}

const HEIGHT = 180;
const TOP = 16;
const LEFT = 64;
const BOTTOM = 40;

/**
 * bars: [{ label, value (null: no bar), tip }]; max: the top of the scale (>0); axis(v): a tick's text.
 * Returns an <svg role="img"> whose accessible name is `title` and description `desc`.
 */
export function barChart({ title, desc, bars, max, axis, className = '' }) {
  const id = `chart-${++chartSeq}`;
  const slot = Math.max(8, Math.min(40, Math.floor(720 / Math.max(1, bars.length))));
  const width = LEFT + slot * bars.length + 16;
  const plot = HEIGHT - TOP - BOTTOM;
  const y = (v) => TOP + plot - (plot * Math.min(v, max)) / max;
  const root = svg('svg', {
    role: 'img', width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`,
    class: `chart ${className}`.trim(), 'aria-labelledby': `${id}-title`, 'aria-describedby': `${id}-desc`,
  }, [svg('title', { id: `${id}-title` }, title), svg('desc', { id: `${id}-desc` }, desc)]);

  for (const tick of [0, max / 2, max]) {
    root.append(
      svg('line', { x1: LEFT, x2: width - 8, y1: y(tick), y2: y(tick), class: 'chart__grid' }),
      svg('text', { x: LEFT - 6, y: y(tick) + 4, 'text-anchor': 'end', class: 'chart__tick' }, axis(tick)),
    );
  }
  const every = Math.ceil(56 / slot); // a time label at least 56 px from the next
  bars.forEach((bar, i) => {
    const x = LEFT + i * slot;
    if (bar.value !== null && bar.value !== undefined) {
      const top = y(bar.value);
      const h = Math.max(bar.value > 0 ? 2 : 0, TOP + plot - top);
      root.append(svg('rect', {
        x: x + 1, y: TOP + plot - h, width: Math.max(2, slot - 3), height: h, class: 'chart__bar',
      }, svg('title', {}, bar.tip)));
    }
    if (i % every === 0) {
      root.append(svg('text', { x: x + 1, y: HEIGHT - BOTTOM + 16, class: 'chart__tick' }, bar.label));
    }
  });
  root.append(svg('line', { x1: LEFT, x2: width - 8, y1: TOP + plot, y2: TOP + plot, class: 'chart__axis' }));
  return root;
}

/** A round top for a scale: 1, 2 or 5 times a power of ten, at least `value` (and at least `least`). */
export function niceMax(value, least = 1) {
  const v = Math.max(value, least);
  const power = 10 ** Math.floor(Math.log10(v));
  for (const step of [1, 2, 5, 10]) if (step * power >= v) return step * power;
  return 10 * power;
}
