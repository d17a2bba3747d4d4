/**
 * zod schemas of a site's (or a control-plane member's) address, for the provider plugin's
 * configuration and BmcServer (provider/config.ts). The rules themselves are lib/site/origin.ts,
 * zod-free, shared with the node agent's configuration.
 */
import { z } from "zod";
import { httpsOriginProblem, serverNameProblem } from "./origin";

export {
  HTTPS_ORIGIN_ALLOWED,
  MAX_HTTPS_ORIGIN_LENGTH,
  MAX_SERVER_NAME_LENGTH,
  SERVER_NAME_ALLOWED,
  httpsOriginProblem,
  serverNameProblem,
} from "./origin";

const refinedBy = (problem: (v: string) => string | undefined) =>
  z.string({ error: "not a string" }).superRefine((v, ctx) => {
    const p = problem(v);
    if (p) ctx.addIssue({ code: "custom", message: p });
  });

/** An https origin (a site's URL, a control-plane member's client URL). */
export const httpsOriginSchema = refinedBy(httpsOriginProblem);

/** The DNS name a site's certificate must carry. */
export const serverNameSchema = refinedBy(serverNameProblem);
