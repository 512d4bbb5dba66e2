export { dataChannelApplication } from './dataChannel';
export { directRedirectApplication } from './directRedirect';
export { disbursementNotice } from './disbursement';
export { deleteAtParties, retentionSweeper, withdrawConsentWorkflow, withdrawEndedApplication } from './lifecycle';
