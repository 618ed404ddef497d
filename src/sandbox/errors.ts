// An error as an AWS service reports it: code, message, HTTP status, and extra fields (S3).
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly extra: Record<string, string> = {},
    readonly fault: 'Sender' | 'Receiver' = status >= 500 ? 'Receiver' : 'Sender',
  ) {
    super(message);
  }
}

export const validation = (message: string): AwsError => new AwsError('ValidationError', message);
