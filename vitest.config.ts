import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "overlay-isa/**/*.test.ts", "compiler/**/*.test.ts", "runtime/**/*.test.ts", "hostctl/**/*.test.ts", "fpga-model/**/*.test.ts"],
    exclude: ["node_modules/**", "dist/**", "runtime/assembly/**"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
