import { ttSvd } from "@tensor-tt/tt-core";

export { ttSvd };
