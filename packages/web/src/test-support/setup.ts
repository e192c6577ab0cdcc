/**
 * @module test-support/setup
 * Component tests' setup: each test's render is unmounted after it so that pages do not leak into the next test,
 * and queries wait long enough for a real node on a busy machine.
 */
import { afterEach } from "vitest";
import { cleanup, configure } from "@testing-library/react";

// Pages wait for a real node (key derivation, argon2, the gateway's upstream) on a shared 2-core machine: Testing
// Library's default one-second wait for what a person sees is too short there, and a slow answer is not a failure.
configure({ asyncUtilTimeout: 10_000 });

afterEach(() => {
  cleanup();
});
