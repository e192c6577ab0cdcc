/**
 * @module bus/event-json
 * An event's JSON text, and its `/ws/events` message as bytes, made once and shared by every subscriber it goes to:
 * with 1,000 subscribers, serialising (and UTF-8 encoding) the same event for each was a visible share of the
 * fan-out's cost (bench/agents.mjs). Keyed weakly by the event object the hub hands out, so they live as long as
 * the event does.
 */
import type { BusEvent } from "@kai/protocol";

const texts = new WeakMap<BusEvent, string>();
const frames = new WeakMap<BusEvent, Buffer>();

export function eventJson(event: BusEvent): string {
  let text = texts.get(event);
  if (text === undefined) {
    text = JSON.stringify(event);
    texts.set(event, text);
  }
  return text;
}

/** `{"type":"event","event":…}` as UTF-8 bytes, for a WebSocket text frame (the socket writes them as they are). */
export function eventMessageBytes(event: BusEvent): Buffer {
  let bytes = frames.get(event);
  if (bytes === undefined) {
    bytes = Buffer.from(`{"type":"event","event":${eventJson(event)}}`, "utf8");
    frames.set(event, bytes);
  }
  return bytes;
}
