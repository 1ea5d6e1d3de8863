import { strykerConfig } from "../../tooling/stryker/config.mjs";

/** The model's math: layers and ops, the model, the optimizer, sampling, compression policies. */
export const parts = {
  "": ["src/nn*.ts", "src/model*.ts", "src/optim*.ts", "src/generate*.ts", "src/policy*.ts"],
};

export default strykerConfig("tt-transformer-hybrid", parts);
