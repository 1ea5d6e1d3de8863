import { strykerConfig } from "../../tooling/stryker/config.mjs";

/**
 * The model's math: layers and ops, the model, the optimizer, sampling, compression policies, and the budgeted
 * rank allocation (split out of policy.ts, so in scope as policy code).
 */
export const parts = {
  "": ["src/nn*.ts", "src/model*.ts", "src/optim*.ts", "src/generate*.ts", "src/policy*.ts"],
  allocate: ["src/allocate.ts"],
};

export default strykerConfig("tt-transformer-hybrid", parts);
