// The console's front page: a card per section of the navigation, saying what it is for.
import { h } from '../dom.js';

export function mount({ root, t }) {
  const sections = [...document.querySelectorAll('.sidenav a[data-section]')]
    .filter((a) => a.dataset.section !== 'overview');
  root.replaceChildren(h('ul', { class: 'cards' }, sections.map((a) => h('li', { class: 'card' },
    h('h2', {}, h('a', { href: a.getAttribute('href') }, a.textContent)),
    h('p', {}, t(`admin.overview.${a.dataset.section}`))))));
}
