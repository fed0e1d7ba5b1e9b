/**
 * The HTML pages oidc-provider renders itself (error, logout, device flow). The templates live with
 * the other pages in http/views; the composition root passes them in.
 */
export interface ProviderPages {
  error(out: { error: string; error_description?: string }): string;
  logout(form: string, host: string): string;
  logoutSuccess(clientName: string | undefined): string;
  deviceInput(form: string, message: { text: string; error: boolean }): string;
  deviceConfirm(form: string, clientName: string, userCode: string): string;
  deviceSuccess(clientName: string | undefined): string;
}
