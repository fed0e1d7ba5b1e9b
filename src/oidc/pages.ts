/**
 * The HTML pages oidc-provider renders itself (error, logout, device flow). The templates live with
 * the other pages in http/views; the composition root passes them in.
 */
export interface ProviderPages {
  /** `clientName`: the app the request came from, when the engine knows it. */
  error(out: { error: string; error_description?: string }, clientName?: string): string;
  logout(form: string, clientName: string | undefined): string;
  logoutSuccess(clientName: string | undefined): string;
  deviceInput(form: string, message: { text: string; error: boolean }): string;
  deviceConfirm(form: string, clientName: string, userCode: string): string;
  deviceSuccess(clientName: string | undefined): string;
}
