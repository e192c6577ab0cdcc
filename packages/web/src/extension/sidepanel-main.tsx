/**
 * @module extension/sidepanel-main
 * Entry of sidepanel.html: the side panel showing the service chosen in the popup.
 */
import { mountExtensionPage } from "./mount";

mountExtensionPage("sidepanel");
