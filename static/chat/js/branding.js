// The tenant's branding on the widget's elements: the accent colour and a readable
// text colour on it. Shared by the widget and the admin console's preview of it.

/** The tenant's accent colour, with white or dark text on it, whichever is readable. */
export function applyBranding(elements, branding) {
  const color = branding && typeof branding.color === 'string' && /^#[0-9a-f]{6}$/i.test(branding.color) ? branding.color : null;
  if (!color) return;
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16) / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  // White text needs contrast ≥ 4.5 on the accent, else dark text.
  const onAccent = 1.05 / (lum + 0.05) >= 4.5 ? '#ffffff' : '#111827';
  for (const el of new Set(elements)) {
    el.style.setProperty('--tc-accent', color);
    el.style.setProperty('--tc-on-accent', onAccent);
  }
}
