// Notifications: a counter in the tab's title, a short sound (switchable), and a system
// notification when the browser allows them. The counter holds until the agent comes back
// to the page (a click or a key).

const SOUND_KEY = "gateway.dashboard.sound";
const BASE_TITLE = "Agent dashboard";

export class Notifier {
  constructor({ soundToggle, permissionButton }) {
    this.unseen = 0;
    this.audio = null;
    this.soundToggle = soundToggle;
    this.permissionButton = permissionButton;
    soundToggle.checked = localStorage.getItem(SOUND_KEY) !== "off";
    soundToggle.addEventListener("change", () => {
      localStorage.setItem(SOUND_KEY, soundToggle.checked ? "on" : "off");
    });
    if ("Notification" in window && Notification.permission === "default") {
      permissionButton.hidden = false;
      permissionButton.addEventListener("click", async () => {
        await Notification.requestPermission();
        permissionButton.hidden = true;
      });
    }
    const seen = () => this.seen();
    document.addEventListener("pointerdown", seen);
    document.addEventListener("keydown", seen);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.seen();
    });
    this.render();
  }

  /** Something for the agent: counted, heard, and shown by the system if allowed. */
  notify(title, body) {
    this.unseen += 1;
    this.render();
    if (this.soundToggle.checked) this.beep();
    if ("Notification" in window && Notification.permission === "granted" && document.hidden) {
      try {
        new Notification(title, { body, tag: "gateway-dashboard" });
      } catch {
        // some browsers allow notifications only from a service worker: the title counts
      }
    }
  }

  seen() {
    if (this.unseen === 0) return;
    this.unseen = 0;
    this.render();
  }

  render() {
    document.title = this.unseen ? `(${this.unseen}) ${BASE_TITLE}` : BASE_TITLE;
  }

  /** 150 ms of a soft tone, made here: no sound file is fetched. */
  beep() {
    try {
      this.audio = this.audio || new AudioContext();
      const tone = this.audio.createOscillator();
      const gain = this.audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.08, this.audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, this.audio.currentTime + 0.15);
      tone.connect(gain).connect(this.audio.destination);
      tone.start();
      tone.stop(this.audio.currentTime + 0.15);
    } catch {
      // no audio device: the counter and the notification remain
    }
  }
}
