// Small helpers: elements built with text nodes only (nothing a customer writes is ever
// parsed as HTML), times, phone masking.

/** An element: `attrs` sets properties (class, text, dataset, on<event>, aria-*, ...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key.startsWith("aria-") || key === "role" || key === "for") node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** The server's clock (it may be virtual): its offset from the browser's. */
let offset = 0;
export function setServerNow(iso) {
  offset = Date.parse(iso) - Date.now();
}
export function serverNow() {
  return Date.now() + offset;
}

export function timeOf(iso) {
  const at = new Date(iso);
  const today = new Date(serverNow()).toDateString() === at.toDateString();
  const time = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return today ? time : `${at.toLocaleDateString()} ${time}`;
}

/** "3 min", "2 h 5 min", "just now". */
export function waited(iso) {
  const minutes = Math.max(0, Math.floor((serverNow() - Date.parse(iso)) / 60000));
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} days`;
}

/** All but the last four digits hidden: "•••••••0123". */
export function maskPhone(phone) {
  if (!phone) return "";
  const digits = String(phone);
  if (digits.length <= 4) return "••••";
  return "•".repeat(digits.length - 4) + digits.slice(-4);
}

export function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
