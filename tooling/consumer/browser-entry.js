// Browser bundle of all four packages (TF.js left external; tooling/scripts/consumer-test.mjs measures the size).
import { BpeTokenizer } from "@tensor-tt/datasets";
import { ttSvd } from "@tensor-tt/tt-core";
import { TTLinear } from "@tensor-tt/tt-layers";
import { HybridTTTransformer } from "@tensor-tt/tt-transformer-hybrid";

export { BpeTokenizer, HybridTTTransformer, TTLinear, ttSvd };
