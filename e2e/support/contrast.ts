// Colour contrast as WCAG measures it, from the colours the browser computes (getComputedStyle).

/** rgb(r g b / a) with channels in 0–255, or color(srgb r g b / a) in 0–1, as [r, g, b, a] in 0–255 (a in 0–1). */
export function parseColour(css: string): number[] {
  const [r, g, b, a] = (css.replace(/^color\(srgb/, '').match(/[\d.]+/g) ?? []).map(Number);
  const scale = css.startsWith('color(srgb') ? 255 : 1;
  return [r * scale, g * scale, b * scale, a ?? 1];
}

/** A colour (possibly translucent) over an opaque background, as it shows: [r, g, b] in 0–255. */
export function over(colour: number[], background: number[]): number[] {
  const alpha = colour[3] ?? 1;
  return [0, 1, 2].map((i) => colour[i] * alpha + background[i] * (1 - alpha));
}

/** The page's background: the body's computed colour, white where the body has none (transparent). */
export function pageBackground(css: string, dark = false): number[] {
  const colour = parseColour(css);
  return colour.length >= 3 && (colour[3] ?? 1) > 0 ? colour : dark ? [18, 18, 18] : [255, 255, 255];
}

/** WCAG contrast ratio of two opaque colours ([r, g, b] in 0–255). */
export function contrast(fg: number[], bg: number[]): number {
  const lum = ([r, g, b]: number[]) =>
    [r, g, b]
      .map((v) => {
        const c = v / 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      })
      .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}
