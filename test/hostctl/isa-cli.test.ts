import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = new URL("../..", import.meta.url).pathname;
const tsx = join(root, "node_modules", ".bin", "tsx");
const cli = join(root, "hostctl", "cli.ts");

function hostctl(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(tsx, [cli, ...args], { encoding: "utf8", cwd: root });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.replace(/^npm warn.*\n/gm, "") };
}

describe("hostctl asm / disasm / verify", () => {
  const dir = mkdtempSync(join(tmpdir(), "kopi-isa-"));

  it("assembles, verifies and disassembles the demo filter; the disassembly assembles to the same image", () => {
    const image = join(dir, "web.kimg");
    expect(hostctl("asm", "examples/filters/web.s", "-o", image).status).toBe(0);
    const v = hostctl("verify", image);
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/ok: 20 instructions, worst case 18 cycles\/packet/);
    const text = hostctl("disasm", image).stdout;
    writeFileSync(join(dir, "again.s"), text);
    expect(hostctl("asm", join(dir, "again.s"), "-o", join(dir, "again.kimg")).status).toBe(0);
    expect(readFileSync(join(dir, "again.kimg"))).toEqual(readFileSync(image));
  });

  it("maps verifier errors back to file:line:col, writes nothing, exits 2", () => {
    const src = join(dir, "bad.s");
    writeFileSync(src, "    ldf r1, pkt.len\n    jeq r1, 60, skip\n    mov r2, 1\nskip: add r3, r2, 1\n    exit accept\n");
    const r = hostctl("asm", src);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${src}:4:7: verifier: r2 may be read before it is written (instruction 3)`);
    expect(r.stderr).toContain("      ^");
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("gives one-line errors with exit code 2 for unreadable files, bad mnemonics and truncated images", () => {
    const missing = hostctl("verify", join(dir, "nope.kimg"));
    expect(missing).toMatchObject({ status: 2 });
    expect(missing.stderr.trim()).toBe(`hostctl: ${join(dir, "nope.kimg")}: No such file or directory`);
    writeFileSync(join(dir, "typo.s"), "    jmpz r1, out\n");
    const typo = hostctl("asm", join(dir, "typo.s"));
    expect(typo.status).toBe(2);
    expect(typo.stderr.split("\n")[0]).toBe(`${join(dir, "typo.s")}:1:5: unknown mnemonic 'jmpz'`);
    writeFileSync(join(dir, "short.kimg"), Buffer.from("KOPI\x01\x00"));
    const short = hostctl("disasm", join(dir, "short.kimg"));
    expect(short.status).toBe(2);
    expect(short.stderr.trim()).toBe(`hostctl: ${join(dir, "short.kimg")}: offset 6: truncated image: the header needs 32 bytes, the file has 6`);
  });

  it("verify exits 1 and lists reasons with instruction indexes for a rejected image", () => {
    const src = join(dir, "back.s");
    writeFileSync(src, "top: mov r1, 1\n jeq r1, 1, top\n exit drop\n");
    expect(hostctl("asm", src, "--no-verify", "-o", join(dir, "back.kimg")).status).toBe(0);
    const r = hostctl("verify", join(dir, "back.kimg"));
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("instruction 1: backward-jump: jump to 0 goes backward");
  });
});

// the npm start demo (the OS-integrated NIC since issue 8) is tested in test/apps/demo.test.ts
