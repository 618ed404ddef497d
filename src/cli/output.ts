// The CLI's output: the one place in src/ that writes to the terminal directly.
export interface Output {
  out(line: string): void;
  err(line: string): void;
  json(value: unknown): void;
}

export const stdio: Output = {
  out: (line) => void process.stdout.write(line + '\n'),
  err: (line) => void process.stderr.write(line + '\n'),
  json: (value) => void process.stdout.write(JSON.stringify(value, null, 2) + '\n'),
};
