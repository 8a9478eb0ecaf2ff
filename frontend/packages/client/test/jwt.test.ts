import { describe, expect, it } from "vitest";
import { jwtExpiresAt } from "../src/jwt.js";
import { fakeJwt } from "./fakes.js";

describe("jwtExpiresAt", () => {
  it("reads exp as epoch milliseconds", () => {
    expect(jwtExpiresAt(fakeJwt({ user_id: 1, exp: 1_763_762_000, name: "Zoë" }))).toBe(1_763_762_000_000);
  });

  it("is null for a token that is not a JWT or has no exp", () => {
    expect(jwtExpiresAt("opaque-token")).toBeNull();
    expect(jwtExpiresAt("a.%%%.c")).toBeNull();
    expect(jwtExpiresAt(fakeJwt({ user_id: 1 }))).toBeNull();
  });
});
