import { describe, expect, it } from "vitest";
import { addressKey } from "./address-key.js";

describe("addressKey", () => {
  it("keeps IPv4 addresses, also when a dual-stack socket maps them into IPv6", () => {
    expect(addressKey("192.0.2.1")).toBe("192.0.2.1");
    expect(addressKey("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(addressKey("::FFFF:192.0.2.1")).toBe("192.0.2.1");
  });

  it("counts an IPv6 address by its /64, however it is spelled", () => {
    const key = "2001:db8:0:1::/64";
    expect(addressKey("2001:db8:0:1::1")).toBe(key);
    expect(addressKey("2001:0DB8:0000:0001:ffff:ffff:ffff:ffff")).toBe(key);
    expect(addressKey("2001:db8::1:0:0:0:5")).toBe(key);
    expect(addressKey("2001:db8:0:1::1%eth0")).toBe(key);
    expect(addressKey("2001:db8:0:2::1")).not.toBe(key);
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("64:ff9b::192.0.2.1")).toBe("64:ff9b:0:0::/64");
  });

  it("keeps what it cannot read as it is", () => {
    expect(addressKey("not:an:address")).toBe("not:an:address");
    expect(addressKey("1::2::3")).toBe("1::2::3");
  });
});
