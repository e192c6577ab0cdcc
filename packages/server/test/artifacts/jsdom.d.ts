/**
 * The little of jsdom that artifact-previews.test.ts uses (parsing sanitised HTML as a browser would, to walk its
 * elements). @types/jsdom is not installed: it pulls the DOM's global types into the whole test program, where they
 * conflict with Node's fetch body types.
 */
declare module "jsdom" {
  interface ParsedAttribute {
    name: string;
    value: string;
  }
  interface ParsedElement {
    localName: string;
    attributes: ArrayLike<ParsedAttribute>;
  }
  export class JSDOM {
    constructor(html: string);
    window: { document: { body: { querySelectorAll(selector: string): ArrayLike<ParsedElement> } } };
  }
}
