/**
 * @module bus/event-json
 * An event's JSON text, made once and shared by every subscriber it goes to: with 1,000 subscribers, serialising the
 * same event for each was a visible share of the fan-out's cost (bench/agents.mjs). Keyed weakly by the event
 * object the hub hands out, so the text lives as long as the event does.
 */
import type { BusEvent } from "@kai/protocol";

const texts = new WeakMap<BusEvent, string>();

export function eventJson(event: BusEvent): string {
  let text = texts.get(event);
  if (text === undefined) {
    text = JSON.stringify(event);
    texts.set(event, text);
  }
  return text;
}
