export { dataChannelApplication } from './dataChannel';
export { directRedirectApplication } from './directRedirect';
export { disbursementNotice } from './disbursement';
export { retainApplication } from './lifecycle';
