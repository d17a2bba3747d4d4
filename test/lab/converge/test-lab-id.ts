/**
 * Loaded by test/.mocharc.lab.json before any spec: the lab tier runs its own lab ("test":
 * .zeroroot/lab-test, namespaces zrtest-…, its own addresses), so a user's lab is never touched.
 * An id already in the environment is kept (two lab-tier runs with different ids may run at once).
 */
import { LAB_ID_ENV, TEST_LAB_ID } from "../../../lab/orchestrate/lab-id";

if (!process.env[LAB_ID_ENV]) process.env[LAB_ID_ENV] = TEST_LAB_ID;
