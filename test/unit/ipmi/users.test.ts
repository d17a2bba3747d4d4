/**
 * The pure half of BMC credential rotation: which slot a rotation writes, the command file that
 * sets a user, parsing `ipmitool user list`, and what is refused before any session is opened.
 */
import { strict as assert } from "node:assert";
import {
  MANAGED_USER_DEFAULTS as SPEC,
  managedPasswordProblem,
  managedUserSpecProblem,
  nextSlot,
  parseUserList,
  setUserScript,
  slotProblem,
  slotUsername,
  type ManagedUserSpec,
} from "../../../lib/ipmi";

/** `ipmitool user list 1` as ipmitool 1.8.19 prints it against ipmi_sim (trimmed to six ids). */
const USER_LIST = [
  "ID  Name\t     Callin  Link Auth\tIPMI Msg   Channel Priv Limit",
  "1                    true    false      false      Unknown (0x00)",
  "2   factory          true    false      true       ADMINISTRATOR",
  "3   zeroroot-a       true    true       true       ADMINISTRATOR",
  "4                    true    false      false      Unknown (0x00)",
  "5   alice            true    true       true       OPERATOR",
  "63                   true    false      false      NO ACCESS",
].join("\n");

describe("BMC user management (pure)", () => {
  it("parses user ids and names, an empty slot as an empty name", () => {
    assert.deepEqual(parseUserList(USER_LIST), [
      { id: 1, name: "" },
      { id: 2, name: "factory" },
      { id: 3, name: "zeroroot-a" },
      { id: 4, name: "" },
      { id: 5, name: "alice" },
      { id: 63, name: "" },
    ]);
  });

  it("ignores lines that are not users (headers, warnings)", () => {
    assert.deepEqual(parseUserList("Get User Access command failed (channel 1, user 70)\nID  Name\n"), []);
  });

  it("alternates between the two slots: the one not in use, slot a when there is none", () => {
    assert.equal(nextSlot(SPEC, undefined), 0);
    assert.equal(nextSlot(SPEC, 3), 1);
    assert.equal(nextSlot(SPEC, 4), 0);
    assert.equal(slotUsername(SPEC, 0), "zeroroot-a");
    assert.equal(slotUsername({ ...SPEC, usernameBase: "zr" }, 1), "zr-b");
  });

  it("writes a command file that names, sets, grants and enables the user, with the field size", () => {
    assert.equal(
      setUserScript({ ...SPEC, channel: 2, passwordBytes: 20 }, 4, "zeroroot-b", "Aa1Bb2Cc3Dd4Ee5F"),
      [
        "user set name 4 zeroroot-b",
        "user set password 4 Aa1Bb2Cc3Dd4Ee5F 20",
        "channel setaccess 2 4 link=on ipmi=on callin=on privilege=4",
        "user priv 4 4 2",
        "user enable 4",
        "",
      ].join("\n"),
    );
  });

  const users = parseUserList(USER_LIST);
  const slotCases: [string, number, RegExp | undefined][] = [
    ["an empty slot", 4, undefined],
    ["zeroroot's own slot", 3, undefined],
    ["someone else's user", 5, /user id 5 holds "alice", not one of zeroroot's \(zeroroot-a, zeroroot-b\)/],
    ["the initial user", 2, /user id 2 is the initial user "factory"; choose other userIds/],
    ["an id the BMC does not list", 40, /the BMC lists no user id 40/],
  ];
  for (const [what, id, expected] of slotCases)
    it(`slot check: ${what} is ${expected ? "refused" : "writable"}`, () => {
      const p = slotProblem(SPEC, users, id, "factory");
      if (expected) assert.match(p ?? "", expected);
      else assert.equal(p, undefined);
    });

  const specCases: [string, Partial<ManagedUserSpec>, RegExp][] = [
    ["the same id twice", { userIds: [3, 3] }, /userIds are both 3/],
    [
      "the anonymous user 1",
      { userIds: [1, 3] },
      /userIds holds 1; give two distinct whole numbers in 2\.\.63/,
    ],
    ["an id past 63", { userIds: [3, 64] }, /userIds holds 64/],
    ["channel 0", { channel: 0 }, /channel is 0; give the BMC's LAN channel, 1\.\.15/],
    ["an upper-case base", { usernameBase: "Zero" }, /usernameBase is "Zero"/],
    ["a base too long for a 16-byte name", { usernameBase: "abcdefghijklmno" }, /usernameBase/],
    ["a 32-byte field", { passwordBytes: 32 as 16 }, /passwordBytes is 32; allowed: 16, 20/],
  ];
  for (const [what, over, expected] of specCases)
    it(`refuses a managed-user spec with ${what}`, () => {
      assert.match(managedUserSpecProblem({ ...SPEC, ...over }) ?? "", expected);
    });

  it("accepts the defaults", () => assert.equal(managedUserSpecProblem(SPEC), undefined));

  const passwordCases: [string, unknown, 16 | 20, RegExp | undefined][] = [
    ["16 letters and digits", "Aa1Bb2Cc3Dd4Ee5F", 16, undefined],
    ["20 in a 20-byte field", "Aa1Bb2Cc3Dd4Ee5Ff6G7", 20, undefined],
    ["20 in a 16-byte field", "Aa1Bb2Cc3Dd4Ee5Ff6G7", 16, /16\.\.16 characters/],
    ["15 characters", "Aa1Bb2Cc3Dd4Ee5", 16, /16\.\.16 characters/],
    ["a space", "Aa1Bb2Cc3Dd4 e5F", 16, /letters and digits only/],
    ["a newline (a second command in the file)", "Aa1Bb2Cc3D\nuser x", 16, /letters and digits only/],
    ["not a string", 1234567890123456, 16, /letters and digits only/],
  ];
  for (const [what, pw, bytes, expected] of passwordCases)
    it(`managed password: ${what} is ${expected ? "refused, value not shown" : "accepted"}`, () => {
      const p = managedPasswordProblem(pw, bytes);
      if (!expected) return assert.equal(p, undefined);
      assert.match(p ?? "", expected);
      assert.ok(!String(p).includes(String(pw)));
    });
});
