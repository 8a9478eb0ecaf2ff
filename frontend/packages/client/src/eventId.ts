/**
 * Event ids are `<ms>-<seq>` strings, strictly increasing within a stream. They must be compared
 * part by part as numbers: as plain strings "9-0" would sort after "10-0".
 */

/** Orders two event ids: negative when `a` comes first, 0 when equal, positive when `a` comes later. */
export function compareEventIds(a: string, b: string): number {
  const left = a.split("-");
  const right = b.split("-");
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const order = compareDigits(left[i] ?? "0", right[i] ?? "0");
    if (order !== 0) return order;
  }
  return 0;
}

// Compared as digit strings rather than Numbers, so no part loses precision beyond 2^53.
function compareDigits(a: string, b: string): number {
  const x = a.replace(/^0+/, "");
  const y = b.replace(/^0+/, "");
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}
