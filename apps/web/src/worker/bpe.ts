/** GPT-2's BPE tokenizer, in a module of its own so that its tables become a chunk loaded only when needed. */
export { BpeTokenizer } from "@tensor-tt/datasets";
