// Types of the example policy beside it, for TypeScript users who import it.
import type { Policy } from "gmemsim/policy";
declare const policy: Policy;
export default policy;
