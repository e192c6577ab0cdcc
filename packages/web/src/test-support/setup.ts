/**
 * @module test-support/setup
 * Component tests' setup: Testing Library's DOM matchers are not used (assertions go through its queries and
 * plain expect); each test's render is unmounted after it so that pages do not leak into the next test.
 */
import { afterEach } from "vitest";
import { cleanup } from "@testing-library/react";

afterEach(() => {
  cleanup();
});
