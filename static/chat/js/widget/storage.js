// localStorage / sessionStorage that never throws (private mode, quota, sandboxed
// frames): what the widget keeps there is a convenience, never essential.
export const storage = {
  get(kind, key) {
    try { return window[kind].getItem(key); } catch (_) { return null; }
  },
  set(kind, key, value) {
    try {
      if (value == null) window[kind].removeItem(key);
      else window[kind].setItem(key, value);
    } catch (_) { /* not essential */ }
  },
};
