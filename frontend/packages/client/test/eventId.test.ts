import { describe, expect, it } from "vitest";
import { compareEventIds } from "../src/eventId.js";

describe("compareEventIds", () => {
  it("orders by milliseconds, then by sequence, as numbers", () => {
    expect(compareEventIds("9-0", "10-0")).toBeLessThan(0);
    expect(compareEventIds("1763762000123-2", "1763762000123-10")).toBeLessThan(0);
    expect(compareEventIds("1763762000124-0", "1763762000123-99")).toBeGreaterThan(0);
  });

  it("finds equal ids equal", () => {
    expect(compareEventIds("1763762000123-0", "1763762000123-0")).toBe(0);
  });

  it("stays exact beyond Number precision", () => {
    expect(compareEventIds("1-90071992547409930", "1-90071992547409931")).toBeLessThan(0);
  });
});
