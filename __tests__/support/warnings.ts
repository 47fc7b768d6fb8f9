/** A process warning as the package emits it: the message and its `MULTIAUTH_*` code. */
export interface CapturedWarning {
  message: string;
  code?: string;
}

/**
 * Records every `process.emitWarning` call instead of printing it, until `spy.mockRestore()`
 * (or `jest.restoreAllMocks()`): what an operator would see, as data a test can assert on.
 */
export function captureWarnings(): { warnings: CapturedWarning[]; spy: jest.SpyInstance } {
  const warnings: CapturedWarning[] = [];
  const spy = jest.spyOn(process, 'emitWarning').mockImplementation(((message: string, options?: { code?: string }) => {
    warnings.push({ message, code: options?.code });
  }) as typeof process.emitWarning);
  return { warnings, spy };
}
