/** MCP tool names as capabilities: sanitised into the capability alphabet, and two tools on one capability refused by name. */
import { expect, it } from "vitest";
import { ApiError } from "../../../src/errors.js";
import { capabilityOf, catalogOf } from "../../../src/agents/mcp/tool-capabilities.js";

const tool = (name: string) => ({ name, inputSchema: { type: "object" as const } });

it("lower-cases a tool name and turns characters outside the capability alphabet into _", () => {
  expect(capabilityOf("weather", "Get Forecast")).toBe("mcp.weather.get_forecast");
  expect(capabilityOf("fs", "read.file-v2")).toBe("mcp.fs.read.file-v2");
  expect(capabilityOf("x", "a".repeat(100))).toHaveLength(64);
});

it("maps every capability to the tool's own name, one skill per tool", () => {
  const catalog = catalogOf("weather", [tool("Get Forecast"), tool("alerts")]);
  expect(catalog.tools).toEqual({ "mcp.weather.get_forecast": "Get Forecast", "mcp.weather.alerts": "alerts" });
  expect(catalog.skills.map((skill) => skill.capability)).toEqual(["mcp.weather.get_forecast", "mcp.weather.alerts"]);
});

it("refuses two tools that become the same capability, naming both", () => {
  let thrown: unknown;
  try {
    catalogOf("weather", [tool("Get Forecast"), tool("get_forecast")]);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ApiError);
  expect((thrown as ApiError).code).toBe("conflict");
  expect((thrown as ApiError).message).toContain('"Get Forecast" and "get_forecast"');
});
