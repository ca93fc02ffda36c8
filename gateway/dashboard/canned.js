// Quick replies: "/" and a few letters in the text box list the canned responses of the
// settings; Enter or Tab (or a click) inserts one, its {customer_name} and {agent_name}
// filled in; Escape closes the list.

import { el } from "./format.js";

export class Canned {
  constructor({ textarea, list, responses, fill }) {
    this.textarea = textarea;
    this.list = list;
    this.responses = responses;
    this.fill = fill; // (text) -> text with the placeholders filled
    this.matches = [];
    this.active = 0;
    textarea.addEventListener("input", () => this.update());
    textarea.addEventListener("blur", () => setTimeout(() => this.close(), 150));
  }

  get open() {
    return !this.list.hidden;
  }

  /** The "/word" being typed at the cursor, or null. */
  trigger() {
    const before = this.textarea.value.slice(0, this.textarea.selectionStart);
    const match = /(^|\s)\/([^\s/]*)$/.exec(before);
    return match ? { query: match[2], start: before.length - match[2].length - 1 } : null;
  }

  update() {
    const found = this.trigger();
    if (!found || !this.responses.length) return this.close();
    const q = found.query.toLowerCase();
    this.matches = this.responses.filter(
      (r) => r.title.toLowerCase().includes(q) || r.text.toLowerCase().includes(q),
    );
    if (!this.matches.length) return this.close();
    this.active = Math.min(this.active, this.matches.length - 1);
    this.render();
  }

  render() {
    this.list.replaceChildren(
      ...this.matches.map((response, i) =>
        el(
          "li",
          {
            role: "option",
            id: `canned-${i}`,
            "aria-selected": String(i === this.active),
            onmousedown: (event) => {
              event.preventDefault();
              this.insert(i);
            },
          },
          el("span", { class: "title", text: response.title }),
          el("span", { class: "text", text: this.fill(response.text) }),
        ),
      ),
    );
    this.list.hidden = false;
    this.textarea.setAttribute("aria-activedescendant", `canned-${this.active}`);
  }

  close() {
    this.list.hidden = true;
    this.matches = [];
    this.active = 0;
    this.textarea.removeAttribute("aria-activedescendant");
  }

  /** Keys while the list is open; true when the key was used here. */
  key(event) {
    if (!this.open) return false;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.active = (this.active + step + this.matches.length) % this.matches.length;
      this.render();
      return true;
    }
    if (event.key === "Enter" || event.key === "Tab") {
      this.insert(this.active);
      return true;
    }
    if (event.key === "Escape") {
      this.close();
      return true;
    }
    return false;
  }

  insert(index) {
    const found = this.trigger();
    const response = this.matches[index];
    if (!found || !response) return this.close();
    const value = this.textarea.value;
    const end = this.textarea.selectionStart;
    const text = this.fill(response.text);
    this.textarea.value = value.slice(0, found.start) + text + value.slice(end);
    const cursor = found.start + text.length;
    this.textarea.setSelectionRange(cursor, cursor);
    this.close();
    this.textarea.focus();
  }
}
